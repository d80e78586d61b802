/**
 * The soak's figures (soak.ts): the RSS series, its slope, the heap-snapshot diff and the verdicts.
 */
import { MiB, table } from './churn-trellis.ts';
import { countsByConstructor, diffCounts, newObjects, objectIds, readHeapSnapshot, retainerPath, type Growth } from './heap-snapshot.ts';

export interface Sample {
  /** Seconds since the soak began (after the first snapshot). */
  readonly t: number;
  readonly edits: number;
  readonly waves: number;
  /** Streams that connected (and, but for the wave's stayers, left) so far. */
  readonly proxies: number;
  readonly classes: number;
  /** VmRSS as found. */
  readonly rss: number;
  /** After three full GCs (the SIGUSR2 hook). */
  readonly gcRss: number;
  readonly heapUsed: number;
}

const f1 = (b: number): string => (b / MiB).toFixed(1);

export function seriesTable(samples: readonly Sample[]): string {
  const header = ['t (s)', 'edits', 'waves', 'proxies', 'classes', 'RSS (MiB)', 'RSS after GC', 'heap used after GC'];
  const rows = samples.map((s) => [
    String(Math.round(s.t)),
    String(s.edits),
    String(s.waves),
    String(s.proxies),
    String(s.classes),
    f1(s.rss),
    f1(s.gcRss),
    f1(s.heapUsed),
  ]);
  return table(header, rows);
}

/** The least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const mean = (v: readonly number[]): number => v.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    num += dx * ((ys[i] ?? 0) - my);
    den += dx * dx;
  }
  return den === 0 ? 0 : num / den;
}

export interface Slopes {
  /** RSS after GC, MiB per minute and per 1000 proxies, over the samples taken during the churn. */
  readonly perMinute: number;
  readonly perThousandProxies: number;
  /** The fitted growth over the sampled span, in MiB. */
  readonly overRun: number;
  readonly samples: number;
}

/** Slopes over the in-run samples (t > 0: the classes of the last grace period held, as in every later sample). */
export function rssSlopes(samples: readonly Sample[]): Slopes {
  const run = samples.filter((s) => s.t > 0);
  const y = run.map((s) => s.gcRss / MiB);
  const perMinute = slope(
    run.map((s) => s.t / 60),
    y,
  );
  const perThousandProxies = slope(
    run.map((s) => s.proxies / 1000),
    y,
  );
  const span = run.length > 1 ? ((run[run.length - 1]?.t ?? 0) - (run[0]?.t ?? 0)) / 60 : 0;
  return { perMinute, perThousandProxies, overRun: perMinute * span, samples: run.length };
}

/**
 * No growth beyond noise: from the first sample to the last (the same state), RSS after GC grew by at most
 * `noiseMiB` and V8's heap used by at most `heapNoiseMiB`, and the slope fitted to the samples during the
 * churn adds up to at most `noiseMiB` over them. Memory given back (a fall) is not growth.
 */
export function isFlat(first: Sample, last: Sample, slopes: Slopes, noiseMiB: number, heapNoiseMiB: number): boolean {
  return (last.gcRss - first.gcRss) / MiB <= noiseMiB && slopes.overRun <= noiseMiB && (last.heapUsed - first.heapUsed) / MiB <= heapNoiseMiB;
}

export interface HeapDiff {
  readonly growth: readonly Growth[];
  readonly countGrowth: number;
  readonly sizeGrowth: number;
  /** Keys whose count grew by at least the number of waves, with a retainer path of one new object. */
  readonly flagged: readonly { readonly g: Growth; readonly path: readonly string[] | undefined; readonly fresh: number }[];
}

/** Reads both snapshots (one at a time), diffs them, and finds what holds one new object of each flagged key. */
export async function diffSnapshots(first: string, last: string, flagAt: number, paths: number): Promise<HeapDiff> {
  let a = await readHeapSnapshot(first);
  const before = countsByConstructor(a);
  const ids = objectIds(a);
  a = { ...a, nodes: [], edges: [], strings: [] };
  const b = await readHeapSnapshot(last);
  const growth = diffCounts(before, countsByConstructor(b));
  const countGrowth = growth.reduce((s, g) => s + g.count, 0);
  const sizeGrowth = growth.reduce((s, g) => s + g.size, 0);
  const flagged = growth
    .filter((g) => g.count >= flagAt)
    .map((g, i) => {
      const fresh = newObjects(b, g.key, ids);
      const target = fresh[Math.floor(fresh.length / 2)];
      return { g, fresh: fresh.length, path: i < paths && target !== undefined ? retainerPath(b, target) : undefined };
    });
  return { growth, countGrowth, sizeGrowth, flagged };
}

export function growthTable(growth: readonly Growth[], top: number): string {
  const rows = [...growth]
    .sort((x, y) => y.count - x.count || y.size - x.size)
    .slice(0, top)
    .map((g) => [g.key.slice(0, 60), String(g.before.count), String(g.after.count), signed(g.count), signed(g.size)]);
  return table(['constructor', 'count before', 'count after', 'Δ count', 'Δ self size (B)'], rows);
}

export const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));
