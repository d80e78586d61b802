/**
 * The certificate bench's figures: the CPU the processes around it spent in a window (read from /proc:
 * the API server, etcd, cert-manager's controller and webhook, the bench's own children), where the time
 * of each run went (create → Ready → served, from the floor's own clock and Trellis's logs), and the
 * table with the target's PASS/MISS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { procStat, USER_HZ } from '../support/proc.ts';
import type { FloorResult, TimelineEvent, TrellisWindow } from './certs-child.ts';
import type { Seen } from './certs-observer.ts';
import { printProfile } from './profile.ts';

export const TARGET_RATIO = 1.2;

// ---- CPU of the processes around the bench ----

/** What the processes started by test/support are called in the report. */
const NAMES: Readonly<Record<string, string>> = { controller: 'cert-manager controller', webhook: 'cert-manager webhook' };

/**
 * CPU seconds (user + system) so far of each process whose parent is this one, by name (`kube-apiserver`,
 * `etcd`, ...), and of this process. The bench's own Node children are left out: they report their own.
 */
export function childCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry); // undefined: gone meanwhile
    if (!stat || stat.ppid !== process.pid || stat.comm === 'node') continue;
    const name = NAMES[stat.comm] ?? stat.comm;
    out.set(name, (out.get(name) ?? 0) + stat.cpuSeconds);
  }
  const self = process.cpuUsage();
  out.set('bench (this process)', (self.user + self.system) / 1e6);
  return out;
}

export function cpuDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/** Adds what the rest of the machine (other users' processes) spent between `from` and `to`: the window's CPU not the bench's. */
export function addOthers(cpu: Map<string, number>, machine: CpuSampler, from: number, to: number): void {
  const ours = [...cpu.values()].reduce((a, b) => a + b, 0);
  cpu.set('other processes on the machine', Math.max(0, machine.coresBusy(from, to) * ((to - from) / 1000) - ours));
}

/**
 * Waits until the processes around the bench are quiet (under 10% of a core over half a second) and the
 * machine too (under half a core: other users' processes share it), at most `maxMs`. Returns the cores
 * the machine was busy over the last half second.
 */
export async function settle(maxMs = 30_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = childCpu();
  let lastMachine = machineBusy();
  let cores = Number.NaN;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    const [now, nowMachine] = [childCpu(), machineBusy()];
    const busy = [...cpuDelta(last, now).values()].reduce((a, b) => a + b, 0);
    cores = (nowMachine - lastMachine) / 0.5;
    [last, lastMachine] = [now, nowMachine];
    if (busy < 0.05 && cores < 0.5) break;
  }
  return cores;
}

// ---- how busy the machine is ----

/** Busy CPU seconds of the whole machine so far (/proc/stat: every state but idle and iowait). */
function machineBusy(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / USER_HZ;
}

export interface CpuSampler {
  /** Cores busy on average between two epoch ms (the samples around them). */
  coresBusy(from: number, to: number): number;
  stop(): void;
}

/** Samples the machine's busy CPU every 100 ms until stopped. */
export function sampleMachine(): CpuSampler {
  const samples: { at: number; busy: number }[] = [{ at: Date.now(), busy: machineBusy() }];
  const timer = setInterval(() => samples.push({ at: Date.now(), busy: machineBusy() }), 100);
  const near = (t: number) => samples.reduce((best, s) => (Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best));
  return {
    coresBusy(from, to) {
      const [a, b] = [near(from), near(to)];
      return b.at > a.at ? (b.busy - a.busy) / ((b.at - a.at) / 1000) : Number.NaN;
    },
    stop: () => clearInterval(timer),
  };
}

// ---- statistics ----

export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? Number.NaN) + (s[m] ?? Number.NaN)) / 2;
};

const sec = (ms: number): string => (ms / 1000).toFixed(2);

/** `first / p50 / p90 / last` of times from the start, in seconds. */
function from(xs: readonly number[]): string {
  return `first / p50 / p90 / last ${[0, 0.5, 0.9, 1].map((q) => sec(q === 0 ? Math.min(...xs.filter(Number.isFinite)) : quantile(xs, q))).join(' / ')} s`;
}

/** `p50 / p90 / max` of durations, in seconds. */
function spread(xs: readonly number[]): string {
  return `p50 / p90 / max ${[0.5, 0.9, 1].map((q) => sec(quantile(xs, q))).join(' / ')} s`;
}

// ---- one run ----

export interface Run {
  readonly round: number;
  readonly impl: 'floor' | 'trellis';
  /** Start → the last request Ready (floor) or the last proxy holding `default` (Trellis), ms. */
  readonly ms: number;
  /** CPU seconds in the window, by process. */
  readonly cpu: ReadonlyMap<string, number>;
  readonly breakdown: readonly string[];
}

/** Epoch ms of one stage, by identity. */
type Stage = ReadonlyMap<string, number>;

function stage(seen: ReadonlyMap<string, Seen>, key: keyof Seen): Stage {
  return new Map([...seen].flatMap(([id, s]) => (s[key] === undefined ? [] : [[id, s[key]]])));
}

/** The bystander's view (certs-observer.ts): when each request was created, approved and Ready, from the start. */
function bystander(t0: number, ids: readonly string[], seen: ReadonlyMap<string, Seen>): { lines: string[]; ready: Stage } {
  const [added, approved, ready] = [stage(seen, 'added'), stage(seen, 'approved'), stage(seen, 'ready')];
  const at = (m: Stage) => ids.map((id) => (m.get(id) ?? Number.NaN) - t0);
  const between = (a: Stage, b: Stage) => ids.map((id) => (b.get(id) ?? Number.NaN) - (a.get(id) ?? Number.NaN));
  return {
    lines: [
      `bystander's watch: request created, ${from(at(added))}`,
      `bystander's watch: request approved, ${from(at(approved))}`,
      `bystander's watch: request Ready, ${from(at(ready))}`,
      `bystander's watch: created → Ready (cert-manager), ${spread(between(added, ready))}`,
    ],
    ready,
  };
}

export function floorBreakdown(r: FloorResult, ids: readonly string[], seen: ReadonlyMap<string, Seen>): string[] {
  const rel = (xs: readonly number[]) => xs.map((x) => x - r.t0);
  const b = bystander(r.t0, ids, seen);
  return [
    `create answered, ${from(rel(r.created))}`,
    ...b.lines,
    `Ready on the floor's watch, ${from(rel(r.ready))}`,
    `Ready (bystander) → Ready on the floor's watch, ${spread(ids.map((id, i) => (r.ready[i] ?? Number.NaN) - (b.ready.get(id) ?? Number.NaN)))}`,
  ];
}

/** Trellis's logs, the bystander and the proxies' clock: connect → authenticated stream → request created → Ready → issued → served. */
export function trellisBreakdown(t0: number, served: readonly number[], ids: readonly string[], w: TrellisWindow, seen: ReadonlyMap<string, Seen>): string[] {
  const at = (kind: TimelineEvent['kind']): Stage => {
    const m = new Map<string, number>();
    for (const e of w.events) if (e.kind === kind && !m.has(e.identity)) m.set(e.identity, e.at);
    return m;
  };
  const [connected, created, issued] = [at('connected'), at('created'), at('issued')];
  const rel = (m: Stage) => ids.map((id) => (m.get(id) ?? Number.NaN) - t0);
  const between = (a: Stage, b: Stage) => ids.map((id) => (b.get(id) ?? Number.NaN) - (a.get(id) ?? Number.NaN));
  const servedAt: Stage = new Map(ids.map((id, i) => [id, served[i] ?? Number.NaN]));
  const b = bystander(t0, ids, seen);
  const deleted = stage(seen, 'deleted');
  const lines = [
    `stream authenticated (TLS, TokenReview; 'proxy connected'), ${from(rel(connected))}`,
    `authenticated → create answered, ${spread(between(connected, created))}`,
    `create answered ('CertificateRequest created'), ${from(rel(created))}`,
    ...b.lines,
    `Ready (bystander) → issued (Trellis's watch, the request deleted, the certificate checked), ${spread(between(b.ready, issued))}`,
    `… of which Ready → the request's deletion seen by the bystander, ${spread(between(b.ready, deleted))}; deletion → issued, ${spread(between(deleted, issued))}`,
    `issued → held by the proxy (SDS push), ${spread(between(issued, servedAt))}`,
    `held by the proxy, ${from(rel(servedAt))}`,
  ];
  const failed = w.events.filter((e) => e.kind === 'failed').length;
  if (failed > 0 || w.problemCount > 0) lines.push(`${failed} failed issuances, ${w.problemCount} warnings/errors logged; first: ${w.problems.join(' | ')}`);
  return lines;
}

function cpuLine(cpu: ReadonlyMap<string, number>): string {
  return [...cpu.entries()]
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

// ---- the report ----

export function report(runs: readonly Run[], identities: number, profiles: readonly { label: string; path: string }[]): { ratio: number; pass: boolean } {
  const of = (impl: Run['impl']) => runs.filter((r) => r.impl === impl);
  const floorMs = median(of('floor').map((r) => r.ms));
  const trellisMs = median(of('trellis').map((r) => r.ms));
  const ratio = trellisMs / floorMs;
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const pairs = rounds.map((round) => {
    const f = runs.find((r) => r.round === round && r.impl === 'floor')?.ms ?? Number.NaN;
    const t = runs.find((r) => r.round === round && r.impl === 'trellis')?.ms ?? Number.NaN;
    return { round, f, t, ratio: t / f };
  });
  const roundRatio = median(pairs.map((p) => p.ratio));
  // Both ways of putting the rounds together must meet it: the ratio of the medians, and the median of each round's ratio.
  const pass = ratio <= TARGET_RATIO && roundRatio <= TARGET_RATIO;

  console.log('\nEach run (CPU seconds in the window, by process):');
  for (const r of runs) {
    console.log(`  round ${r.round} ${r.impl.padEnd(7)} ${sec(r.ms).padStart(7)} s   CPU: ${cpuLine(r.cpu)}`);
    for (const l of r.breakdown) console.log(`      ${l}`);
  }
  console.log('\n| round | floor | Trellis | ratio |');
  console.log('|---|---|---|---|');
  for (const p of pairs) console.log(`| ${p.round} | ${sec(p.f)} s | ${sec(p.t)} s | ${p.ratio.toFixed(2)}x |`);
  console.log(`| median | ${sec(floorMs)} s | ${sec(trellisMs)} s | ${ratio.toFixed(2)}x (median of the rounds' ratios ${roundRatio.toFixed(2)}x) |`);
  console.log('\nTarget:');
  console.log(
    `  ${pass ? 'PASS' : 'MISS'}  ${identities} identities, nothing → every default Secret served, within ${TARGET_RATIO}x of the floor: ` +
      `Trellis ${sec(trellisMs)} s, floor ${sec(floorMs)} s, ${ratio.toFixed(2)}x (medians; each round's ratio: median ${roundRatio.toFixed(2)}x)`,
  );
  for (const p of profiles) printProfile(p.label, p.path);
  return { ratio, pass };
}
