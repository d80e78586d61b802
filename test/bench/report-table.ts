/**
 * The bench's tables and targets: per protocol, every implementation side by side with Trellis's ratio to
 * each other one, for the change phase and the cold start; then the targets with PASS/MISS (Trellis within
 * 1.5x of the floor, at or below go-control-plane on convergence p99, cold start and RSS per proxy).
 */
import type { Protocol } from './config.ts';
import { TARGET, f1, f3, int, isGocp, type ColdStartSummary, type Impl, type Summary } from './report.ts';

interface Metric<S> {
  readonly name: string;
  /** The figure Trellis's ratios are taken of. */
  readonly value: (s: S) => number;
  /** How the cell shows it, when not as value with one decimal. */
  readonly show?: (s: S) => string;
  /** No ratio column for this row (counts, composites whose parts differ). */
  readonly noRatio?: boolean;
}

function encodesCell(s: Summary): string {
  if (s.impl === 'trellis') return `${s.encodesPerPushMin}..${s.encodesPerPushMax}`;
  return s.impl === 'floor' ? '0 (pre-encoded)' : 'n/a';
}

const CHANGE_METRICS: readonly Metric<Summary>[] = [
  { name: 'convergence p50 (ms, change → last ACK written)', value: (s) => s.convergenceP50Ms },
  { name: 'convergence p99 (ms)', value: (s) => s.convergenceP99Ms },
  { name: 'server saw last ACK p50 / p99 (ms)', value: (s) => s.serverAckP99Ms, show: (s) => `${f1(s.serverAckP50Ms)} / ${f1(s.serverAckP99Ms)}` },
  { name: 'server CPU per push (s)', value: (s) => s.serverCpuSecondsPerPush, show: (s) => f3(s.serverCpuSecondsPerPush) },
  { name: '  writing the change (ms; Trellis: cache.set; gocp: GET /change)', value: (s) => s.fanOutMs },
  { name: '  in GC pauses, mean / max (ms)', value: (s) => s.gcMeanMs, show: (s) => `${f1(s.gcMeanMs)} / ${f1(s.gcMaxMs)}` },
  { name: 'client process CPU per push (s)', value: (s) => s.clientCpuSecondsPerPush, show: (s) => f3(s.clientCpuSecondsPerPush) },
  { name: 'server RSS per connected client (KB)', value: (s) => s.rssPerClientKB },
  {
    name: '  JS heap used / heap reserved / external per client (KB)',
    value: (s) => s.heapPerClientKB,
    show: (s) => `${f1(s.heapPerClientKB)} / ${f1(s.heapTotalPerClientKB)} / ${f1(s.externalPerClientKB)}`,
    noRatio: true,
  },
  { name: '  RSS before / connected (MB)', value: (s) => s.rssConnectedMB, show: (s) => `${f1(s.rssBeforeMB)} / ${f1(s.rssConnectedMB)}` },
  { name: 'bytes per change, per client', value: (s) => s.bytesPerChangePerClient, show: (s) => int(s.bytesPerChangePerClient) },
  { name: 'bytes per change, all clients', value: (s) => s.bytesPerChangeTotal, show: (s) => int(s.bytesPerChangeTotal) },
  { name: 'responses per change (all clients)', value: (s) => s.responsesPerChange, show: (s) => int(s.responsesPerChange), noRatio: true },
  { name: 'encodes per push (min..max)', value: () => NaN, show: encodesCell, noRatio: true },
  { name: 'set-up: time (s) / bytes per client', value: (s) => s.setupSeconds, show: (s) => `${f1(s.setupSeconds)} / ${int(s.setupBytesPerClient)}` },
  { name: 'responses after convergence', value: (s) => s.lateResponses, show: (s) => String(s.lateResponses), noRatio: true },
];

const COLD_METRICS: readonly Metric<ColdStartSummary>[] = [
  { name: 'cold start: connect → every proxy ACKed CDS + EDS (ms)', value: (s) => s.totalMs },
  { name: '  per proxy, stream opened → ACKed: p50 (ms)', value: (s) => s.p50Ms },
  { name: '  per proxy p99 (ms)', value: (s) => s.p99Ms },
  { name: '  per proxy max (ms)', value: (s) => s.maxMs },
  { name: 'server CPU for it (s)', value: (s) => s.serverCpuSeconds, show: (s) => f3(s.serverCpuSeconds) },
  { name: 'server RSS per proxy after it (KB)', value: (s) => s.rssPerClientKB },
  { name: 'initial bytes per proxy', value: (s) => s.bytesPerClient, show: (s) => int(s.bytesPerClient) },
];

function ratio(t: number, other: number): string {
  const r = t / other;
  return Number.isFinite(r) && other !== 0 ? `${r.toFixed(2)}x` : 'n/a';
}

/** One protocol's rows side by side: a column per implementation, then Trellis / each other implementation. */
function sideBySide<S extends { readonly impl: Impl }>(title: string, rows: readonly S[], metrics: readonly Metric<S>[]): string {
  const t = rows.find((r) => r.impl === 'trellis');
  const others = t ? rows.filter((r) => r !== t) : [];
  const heads = [title, ...rows.map((r) => r.impl), ...others.map((o) => `trellis/${o.impl}`)];
  const body = metrics.map((m) => [
    m.name,
    ...rows.map((r) => (m.show ?? ((s: S) => f1(m.value(s))))(r)),
    ...others.map((o) => (t && !m.noRatio ? ratio(m.value(t), m.value(o)) : '')),
  ]);
  const cells = [heads, ...body];
  const widths = heads.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  return cells
    .map((row, i) => {
      const line = row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
      return i === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

/** Every table of the run: per protocol, the change phase and the cold start (whichever ran). */
export function tables(rows: readonly Summary[], cold: readonly ColdStartSummary[], protocols: readonly Protocol[]): string {
  const out: string[] = [];
  for (const p of protocols) {
    const changes = rows.filter((r) => r.protocol === p);
    if (changes.length > 0) out.push(sideBySide(`changes, ${p}`, changes, CHANGE_METRICS));
    const c = cold.filter((r) => r.protocol === p);
    if (c.length > 0) out.push(sideBySide(`cold start, ${p}`, c, COLD_METRICS));
  }
  return out.join('\n\n');
}

export interface TargetLine {
  readonly protocol: Protocol;
  readonly target: string;
  readonly figure: string;
  readonly pass: boolean;
}

function floorTargets(t: Summary, f: Summary): TargetLine[] {
  const { protocol } = t;
  const ratio = t.convergenceP99Ms / f.convergenceP99Ms;
  const sratio = t.serverAckP99Ms / f.serverAckP99Ms;
  return [
    {
      protocol,
      target: `convergence p99 <= ${TARGET.convergenceRatio}x the floor's (${protocol} floor; clients' last ACK written)`,
      figure: `${f1(t.convergenceP99Ms)} ms vs ${f1(f.convergenceP99Ms)} ms = ${ratio.toFixed(2)}x (p50 ${(t.convergenceP50Ms / f.convergenceP50Ms).toFixed(2)}x)`,
      pass: ratio <= TARGET.convergenceRatio,
    },
    {
      protocol,
      target: `the same, as the server sees it (last ACK processed by the server)`,
      figure: `${f1(t.serverAckP99Ms)} ms vs ${f1(f.serverAckP99Ms)} ms = ${sratio.toFixed(2)}x (p50 ${(t.serverAckP50Ms / f.serverAckP50Ms).toFixed(2)}x); server CPU per push ${f3(t.serverCpuSecondsPerPush)} s vs ${f3(f.serverCpuSecondsPerPush)} s = ${(t.serverCpuSecondsPerPush / f.serverCpuSecondsPerPush).toFixed(2)}x`,
      pass: sratio <= TARGET.convergenceRatio,
    },
  ];
}

/** Trellis at or below `figure` of go-control-plane's `g` (lower is better). */
function atOrBelow(protocol: Protocol, what: string, unit: string, t: number, g: number, impl: Impl): TargetLine {
  return {
    protocol,
    target: `${what} at or below go-control-plane's (${impl})`,
    figure: `${f1(t)} ${unit} vs ${f1(g)} ${unit} = ${ratio(t, g)}`,
    pass: t <= g,
  };
}

function changeTargets(rows: readonly Summary[], protocol: Protocol): TargetLine[] {
  const t = rows.find((r) => r.impl === 'trellis' && r.protocol === protocol);
  if (!t) return [];
  const f = rows.find((r) => r.impl === 'floor' && r.protocol === protocol);
  const out = f ? floorTargets(t, f) : [];
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
  for (const g of rows.filter((r) => r.protocol === protocol && isGocp(r.impl))) {
    out.push(atOrBelow(protocol, 'convergence p99', 'ms', t.convergenceP99Ms, g.convergenceP99Ms, g.impl));
    out.push(atOrBelow(protocol, 'server RSS per connected proxy', 'KB', t.rssPerClientKB, g.rssPerClientKB, g.impl));
  }
  return out;
}

export function targets(rows: readonly Summary[], cold: readonly ColdStartSummary[], protocols: readonly Protocol[]): TargetLine[] {
  const out: TargetLine[] = [];
  for (const protocol of protocols) {
    out.push(...changeTargets(rows, protocol));
    const t = cold.find((r) => r.impl === 'trellis' && r.protocol === protocol);
    if (!t) continue;
    for (const g of cold.filter((r) => r.protocol === protocol && isGocp(r.impl))) {
      out.push(atOrBelow(protocol, 'cold start (every proxy ACKed)', 'ms', t.totalMs, g.totalMs, g.impl));
    }
  }
  return out;
}
