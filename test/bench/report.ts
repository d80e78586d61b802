/**
 * The bench's figures: per-phase statistics, the table, the targets with PASS/MISS, the notes that
 * say what each figure means, and the summary of a CPU profile.
 */
import type { BenchParams, MemoryReport, Protocol } from './config.ts';
import { summarizeProfile } from './profile.ts';

export const TARGET = { convergenceRatio: 1.5, rssPerClientKB: 100 } as const;

export type Impl = 'floor' | 'trellis';

export interface PhaseResult {
  readonly impl: Impl;
  readonly protocol: Protocol;
  readonly setupMs: number;
  readonly setupBytesPerClient: number;
  /** Change → the last of N ACKs written by the clients (shared clock), ms. */
  readonly convergenceMs: number[];
  /** Change → the last expected ACK processed by the server, ms. */
  readonly serverAckMs: number[];
  readonly cpuSeconds: number[];
  readonly clientCpuSeconds: number[];
  readonly encodes: number[];
  readonly setMs: number[];
  /** Response bytes received per change, summed over all clients. */
  readonly bytes: number[];
  readonly responses: number[];
  /** Server GC pause time within each change's window (change → last ACK processed), ms. */
  readonly gcMs: number[];
  readonly lateResponses: number;
  readonly memBefore: MemoryReport;
  readonly memConnected: MemoryReport;
  readonly profilePath?: string;
}

/** Nearest-rank percentile (p99 of 20 samples is the largest). */
function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface Summary {
  readonly impl: Impl;
  readonly protocol: Protocol;
  readonly convergenceP50Ms: number;
  readonly convergenceP99Ms: number;
  readonly convergenceMaxMs: number;
  readonly serverAckP50Ms: number;
  readonly serverAckP99Ms: number;
  readonly serverCpuSecondsPerPush: number;
  readonly clientCpuSecondsPerPush: number;
  readonly gcMeanMs: number;
  readonly gcMaxMs: number;
  readonly fanOutMs: number;
  readonly rssPerClientKB: number;
  readonly heapPerClientKB: number;
  readonly heapTotalPerClientKB: number;
  readonly externalPerClientKB: number;
  readonly rssBeforeMB: number;
  readonly rssConnectedMB: number;
  readonly bytesPerChangePerClient: number;
  readonly bytesPerChangeTotal: number;
  readonly responsesPerChange: number;
  readonly encodesPerPushMin: number;
  readonly encodesPerPushMax: number;
  readonly setupSeconds: number;
  readonly setupBytesPerClient: number;
  readonly lateResponses: number;
  readonly samples: number;
}

export function summarize(p: PhaseResult, n: number): Summary {
  const kb = (bytes: number): number => bytes / 1024 / n;
  return {
    impl: p.impl,
    protocol: p.protocol,
    convergenceP50Ms: pct(p.convergenceMs, 50),
    convergenceP99Ms: pct(p.convergenceMs, 99),
    convergenceMaxMs: Math.max(...p.convergenceMs),
    serverAckP50Ms: pct(p.serverAckMs, 50),
    serverAckP99Ms: pct(p.serverAckMs, 99),
    serverCpuSecondsPerPush: mean(p.cpuSeconds),
    clientCpuSecondsPerPush: mean(p.clientCpuSeconds),
    gcMeanMs: mean(p.gcMs),
    gcMaxMs: Math.max(...p.gcMs),
    fanOutMs: mean(p.setMs),
    rssPerClientKB: kb(p.memConnected.rss - p.memBefore.rss),
    heapPerClientKB: kb(p.memConnected.heapUsed - p.memBefore.heapUsed),
    heapTotalPerClientKB: kb(p.memConnected.heapTotal - p.memBefore.heapTotal),
    externalPerClientKB: kb(p.memConnected.external - p.memBefore.external),
    rssBeforeMB: p.memBefore.rss / 2 ** 20,
    rssConnectedMB: p.memConnected.rss / 2 ** 20,
    bytesPerChangePerClient: mean(p.bytes) / n,
    bytesPerChangeTotal: mean(p.bytes),
    responsesPerChange: mean(p.responses),
    encodesPerPushMin: Math.min(...p.encodes),
    encodesPerPushMax: Math.max(...p.encodes),
    setupSeconds: p.setupMs / 1000,
    setupBytesPerClient: p.setupBytesPerClient,
    lateResponses: p.lateResponses,
    samples: p.convergenceMs.length,
  };
}

export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export function table(rows: Summary[]): string {
  const metrics: [string, (s: Summary) => string][] = [
    ['convergence p50 (ms, change → last ACK written)', (s) => f1(s.convergenceP50Ms)],
    ['convergence p99 (ms)', (s) => f1(s.convergenceP99Ms)],
    ['server saw last ACK p50 / p99 (ms)', (s) => `${f1(s.serverAckP50Ms)} / ${f1(s.serverAckP99Ms)}`],
    ['server CPU per push (s)', (s) => f3(s.serverCpuSecondsPerPush)],
    ['  writing the change to all streams (ms; Trellis: cache.set)', (s) => f1(s.fanOutMs)],
    ['  in GC pauses, mean / max (ms)', (s) => `${f1(s.gcMeanMs)} / ${f1(s.gcMaxMs)}`],
    ['client process CPU per push (s)', (s) => f3(s.clientCpuSecondsPerPush)],
    ['server RSS per connected client (KB)', (s) => f1(s.rssPerClientKB)],
    [
      '  JS heap used / heap reserved / external per client (KB)',
      (s) => `${f1(s.heapPerClientKB)} / ${f1(s.heapTotalPerClientKB)} / ${f1(s.externalPerClientKB)}`,
    ],
    ['  RSS before / connected (MB)', (s) => `${f1(s.rssBeforeMB)} / ${f1(s.rssConnectedMB)}`],
    ['bytes per change, per client', (s) => int(s.bytesPerChangePerClient)],
    ['bytes per change, all clients', (s) => int(s.bytesPerChangeTotal)],
    ['responses per change (all clients)', (s) => int(s.responsesPerChange)],
    ['encodes per push (min..max)', (s) => (s.impl === 'trellis' ? `${s.encodesPerPushMin}..${s.encodesPerPushMax}` : '0 (pre-encoded)')],
    ['set-up: time (s) / bytes per client', (s) => `${f1(s.setupSeconds)} / ${int(s.setupBytesPerClient)}`],
    ['responses after convergence', (s) => String(s.lateResponses)],
  ];
  const heads = ['', ...rows.map((r) => `${r.impl} ${r.protocol}`)];
  const cells = [heads, ...metrics.map(([name, fn]) => [name, ...rows.map(fn)])];
  const widths = heads.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  return cells
    .map((row, i) => {
      const line = row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
      return i === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

export interface TargetLine {
  readonly protocol: Protocol;
  readonly target: string;
  readonly figure: string;
  readonly pass: boolean;
}

export function targets(rows: Summary[], protocols: readonly Protocol[]): TargetLine[] {
  const out: TargetLine[] = [];
  for (const protocol of protocols) {
    const t = rows.find((r) => r.impl === 'trellis' && r.protocol === protocol);
    const f = rows.find((r) => r.impl === 'floor' && r.protocol === protocol);
    if (!t) continue;
    if (f) {
      const ratio = t.convergenceP99Ms / f.convergenceP99Ms;
      out.push({
        protocol,
        target: `convergence p99 <= ${TARGET.convergenceRatio}x the floor's (${protocol} floor; clients' last ACK written)`,
        figure: `${f1(t.convergenceP99Ms)} ms vs ${f1(f.convergenceP99Ms)} ms = ${ratio.toFixed(2)}x (p50 ${(t.convergenceP50Ms / f.convergenceP50Ms).toFixed(2)}x)`,
        pass: ratio <= TARGET.convergenceRatio,
      });
      const sratio = t.serverAckP99Ms / f.serverAckP99Ms;
      out.push({
        protocol,
        target: `the same, as the server sees it (last ACK processed by the server)`,
        figure: `${f1(t.serverAckP99Ms)} ms vs ${f1(f.serverAckP99Ms)} ms = ${sratio.toFixed(2)}x (p50 ${(t.serverAckP50Ms / f.serverAckP50Ms).toFixed(2)}x); server CPU per push ${f3(t.serverCpuSecondsPerPush)} s vs ${f3(f.serverCpuSecondsPerPush)} s = ${(t.serverCpuSecondsPerPush / f.serverCpuSecondsPerPush).toFixed(2)}x`,
        pass: sratio <= TARGET.convergenceRatio,
      });
    }
    out.push({
      protocol,
      target: `server RSS per connected client <= ${TARGET.rssPerClientKB} KB`,
      figure: `${f1(t.rssPerClientKB)} KB${f ? ` (floor: ${f1(f.rssPerClientKB)} KB)` : ''}`,
      pass: t.rssPerClientKB <= TARGET.rssPerClientKB,
    });
    out.push({
      protocol,
      target: 'encodes per push = changed resources (1), not N',
      figure: `${t.encodesPerPushMin}..${t.encodesPerPushMax} per push over ${t.samples} pushes`,
      pass: t.encodesPerPushMin === 1 && t.encodesPerPushMax === 1,
    });
  }
  return out;
}

export function notes(params: BenchParams): string {
  return (
    'Convergence: from just before the server is told to change to the moment the clients wrote the last of the N ACKs\n' +
    `(shared clock; nearest-rank percentiles over ${params.changes} changes${params.changes < 100 ? ', so p99 is the slowest one' : ''}). Bytes: serialized response\n` +
    'messages as the clients received them (without gRPC/HTTP/2 framing). RSS: after GC, connected minus before, / N.\n' +
    'Floor: a bare grpc-js server writing one pre-built response Buffer per change, identical for every stream (same\n' +
    'nonce, so no per-stream encoding at all), reading only type URL and nonce of each request; each protocol is\n' +
    'compared with the floor of the same protocol. SotW clients ACK EDS with the full list of K names, as Envoy does.'
  );
}

/** The profile's summary as printed lines. */
export function profileReport(path: string, protocol: Protocol, changes: number): string {
  const s = summarizeProfile(path, 25);
  const line = (l: { selfPct: number; totalPct: number; what: string }): string =>
    `    ${l.selfPct.toFixed(1).padStart(5)}% ${l.totalPct.toFixed(1).padStart(5)}%  ${l.what}`;
  return [
    `CPU profile of the Trellis server over the ${changes} measured ${protocol} changes (${path}), ${f1(s.busyMs)} ms busy`,
    '  by file (self% / inclusive%):',
    ...s.files.slice(0, 15).map(line),
    '  by function, inclusive (self% / inclusive%):',
    ...s.byTotal.map(line),
    '  by function, self:',
    ...s.bySelf.slice(0, 15).map(line),
  ].join('\n');
}
