/**
 * The bench's figures: per-phase statistics of the change and cold-start phases, the notes that say what
 * each figure means, and the summary of a CPU profile (report-table.ts prints them side by side, with the targets).
 */
import type { BenchParams, MemoryReport, Protocol } from './config.ts';
import { summarizeProfile } from './profile.ts';

export const TARGET = { convergenceRatio: 1.5, rssPerClientKB: 100 } as const;

/** The implementations the bench can run: the floor, Trellis, and go-control-plane with each of its two caches. */
export const IMPLS = ['floor', 'trellis', 'gocp-linear', 'gocp-snapshot'] as const;
export type Impl = (typeof IMPLS)[number];

export function isGocp(impl: Impl): impl is 'gocp-linear' | 'gocp-snapshot' {
  return impl.startsWith('gocp-');
}

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
export function pct(xs: readonly number[], p: number): number {
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

/** What the cold-start phase measured: N proxies connecting at once to a fresh server. */
export interface ColdStartResult {
  readonly impl: Impl;
  readonly protocol: Protocol;
  /** From the connect command to the last proxy's initial CDS and EDS ACKed. */
  readonly totalMs: number;
  /** Per proxy: its stream opened → its initial CDS and EDS ACKed. */
  readonly perClientMs: readonly number[];
  /** Server CPU seconds from before the clients' process started to every proxy ACKed. */
  readonly serverCpuSeconds: number;
  readonly setupBytesPerClient: number;
  readonly memBefore: MemoryReport;
  readonly memConnected: MemoryReport;
  /** The server's CPU profile over the cold start (--profile). */
  readonly profilePath?: string;
}

export interface ColdStartSummary {
  readonly impl: Impl;
  readonly protocol: Protocol;
  readonly totalMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly serverCpuSeconds: number;
  readonly rssPerClientKB: number;
  readonly bytesPerClient: number;
}

export function summarizeColdStart(c: ColdStartResult, n: number): ColdStartSummary {
  return {
    impl: c.impl,
    protocol: c.protocol,
    totalMs: c.totalMs,
    p50Ms: pct(c.perClientMs, 50),
    p99Ms: pct(c.perClientMs, 99),
    maxMs: Math.max(...c.perClientMs),
    serverCpuSeconds: c.serverCpuSeconds,
    rssPerClientKB: (c.memConnected.rss - c.memBefore.rss) / 1024 / n,
    bytesPerClient: c.setupBytesPerClient,
  };
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
export const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
export const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export function notes(params: BenchParams): string {
  return (
    'Convergence: from just before the server is told to change to the moment the clients wrote the last of the N ACKs\n' +
    `(shared clock; nearest-rank percentiles over ${params.changes} changes${params.changes < 100 ? ', so p99 is the slowest one' : ''}). Every change gives svc0 new\n` +
    'endpoint addresses, in every implementation. Bytes: serialized response messages as the clients received them\n' +
    '(without gRPC/HTTP/2 framing). RSS: connected minus before, / N; Node servers after forced GCs.\n' +
    'Floor: a bare grpc-js server writing one pre-built response Buffer per change, identical for every stream (same\n' +
    'nonce, so no per-stream encoding at all), reading only type URL and nonce of each request; each protocol is\n' +
    'compared with the floor of the same protocol. SotW clients ACK EDS with the full list of K names, as Envoy does.\n' +
    'gocp-*: go-control-plane v0.12.0 (gocp-ads) with a LinearCache per type (versions per resource) or the SimpleCache\n' +
    '(one snapshot, versions per type: in SotW a change sends every EDS subscriber all K assignments). Measured from\n' +
    'outside: RSS from /proc/<pid>/status (Go cannot be made to collect first), CPU from /proc/<pid>/stat (10 ms\n' +
    'ticks); it sees no ACKs, so "server saw last ACK", GC, heap and encodes are n/a; a change is an HTTP GET, whose\n' +
    'round trip (~1 ms) counts in its convergence. Cold start: a fresh server; N streams opened at once from one\n' +
    'process; total = connect command → the last proxy ACKed its initial CDS and EDS; per proxy = its stream opened → its\n' +
    "ACKs. Both include the client process's own work (one fresh Node process for the N proxies), the same for every server."
  );
}

/** The profile's summary as printed lines. */
/** Where a profile's time went; `window` says over what ("the 100 measured delta changes"). */
export function profileReport(path: string, window: string): string {
  const s = summarizeProfile(path, 25);
  const line = (l: { selfPct: number; totalPct: number; what: string }): string =>
    `    ${l.selfPct.toFixed(1).padStart(5)}% ${l.totalPct.toFixed(1).padStart(5)}%  ${l.what}`;
  return [
    `CPU profile of the Trellis server over ${window} (${path}), ${f1(s.busyMs)} ms busy`,
    '  by file (self% / inclusive%):',
    ...s.files.slice(0, 15).map(line),
    '  by function, inclusive (self% / inclusive%):',
    ...s.byTotal.map(line),
    '  by function, self:',
    ...s.bySelf.slice(0, 15).map(line),
  ].join('\n');
}
