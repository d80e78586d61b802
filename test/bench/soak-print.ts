/**
 * The soak bench's report (soak.ts): the series, the slopes, the heap diff and the verdicts, as text and
 * as one SOAK_BENCH_RESULT JSON line.
 */
import { cpus } from 'node:os';
import { MiB } from './churn-trellis.ts';
import type { Growth } from './heap-snapshot.ts';
import { diffSnapshots, growthTable, isFlat, rssSlopes, seriesTable, signed, type Sample } from './soak-report.ts';

export interface Soak {
  readonly started: string;
  readonly params: Record<string, unknown>;
  readonly warm: { readonly edits: number; readonly waves: number; readonly proxies: number; readonly distinct: number };
  readonly counts: { readonly edits: number; readonly waves: number; readonly proxies: number; readonly distinct: number };
  readonly soakSeconds: number;
  /** The first sample (t = 0, one class) and those taken during the churn. */
  readonly series: readonly Sample[];
  /** One class, after the warm-up and after the soak: the pair the verdicts compare. */
  readonly first: Sample;
  readonly last: Sample;
  readonly releasedAfterMs: number;
  readonly snapshots: readonly [string, string] | undefined;
  readonly noiseMiB: number;
  readonly heapNoiseMiB: number;
  readonly top: number;
}

const f1 = (b: number): string => (b / MiB).toFixed(1);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISS');

export async function reportSoak(s: Soak): Promise<void> {
  const { counts } = s;
  console.log(seriesTable([...s.series, s.last]));
  const slopes = rssSlopes(s.series);
  const dRss = s.last.gcRss - s.first.gcRss;
  const dHeap = s.last.heapUsed - s.first.heapUsed;
  const flat = isFlat(s.first, s.last, slopes, s.noiseMiB, s.heapNoiseMiB);
  console.log(
    [
      '',
      `- soak: ${counts.edits} edits and ${counts.waves} waves in ${(s.soakSeconds / 60).toFixed(1)} min: ${counts.proxies} proxies connected and left (${counts.distinct} distinct, each its own class), after a warm-up of ${s.warm.waves} waves (${s.warm.proxies} proxies).`,
      `- the first row (t = 0) and the last: one class (the stayer's), after the warm-up and ${(s.releasedAfterMs / 1000).toFixed(1)} s after the soak's last wave; the rows between: during the churn (the classes of the last grace period held). RSS: VmRSS as found; after GC: RSS and V8 heap used after three full GCs (the SIGUSR2 hook).`,
      `- first → last, after GC: RSS ${f1(s.first.gcRss)} → ${f1(s.last.gcRss)} MiB (${signed(+f1(dRss))}), heap used ${f1(s.first.heapUsed)} → ${f1(s.last.heapUsed)} MiB (${signed(+f1(dHeap))}).`,
      `- slope of RSS after GC over the ${slopes.samples} samples during the churn: ${slopes.perMinute.toFixed(2)} MiB/min, ${slopes.perThousandProxies.toFixed(3)} MiB per 1000 proxies; fitted growth over the run ${slopes.overRun.toFixed(1)} MiB.`,
      `- memory flat under churn (RSS Δ and fitted growth ≤ +${s.noiseMiB} MiB, heap used Δ ≤ +${s.heapNoiseMiB} MiB; a fall is not growth): ${verdict(flat)}`,
    ].join('\n'),
  );
  const heap = s.snapshots ? await heapReport(s, s.snapshots) : undefined;
  const mib = (b: number): number => +(b / MiB).toFixed(1);
  const json = {
    date: s.started,
    node: process.version,
    cores: cpus().length,
    params: s.params,
    counts,
    soakS: Math.round(s.soakSeconds),
    series: [...s.series, s.last].map((x) => ({ ...x, t: Math.round(x.t), rss: mib(x.rss), gcRss: mib(x.gcRss), heapUsed: mib(x.heapUsed) })),
    slopeMiBPerMin: +slopes.perMinute.toFixed(3),
    slopeMiBPer1000Proxies: +slopes.perThousandProxies.toFixed(4),
    fittedGrowthMiB: +slopes.overRun.toFixed(1),
    flat,
    ...heap,
  };
  console.log(`\nSOAK_BENCH_RESULT ${JSON.stringify(json)}`);
}

/** V8's own code and metadata (JIT, feedback, maps): they grow as code warms up, not per proxy. */
const V8_INTERNAL = new Set(['(compiled code)', '(system)', '(object shape)']);

async function heapReport(s: Soak, [first, last]: readonly [string, string]): Promise<Record<string, unknown>> {
  const { counts } = s;
  const t = performance.now();
  const flagAt = Math.max(1, counts.waves);
  const diff = await diffSnapshots(first, last, flagAt, 6);
  const perProxy = diff.countGrowth / Math.max(1, counts.proxies);
  console.log(`\nHeap snapshots, first → last (diffed in ${((performance.now() - t) / 1000).toFixed(1)} s), the top ${s.top} by count growth:\n`);
  console.log(growthTable(diff.growth, s.top));
  const flaggedLines = diff.flagged.map(
    ({ g, fresh, path }) =>
      `  - ${g.key}: ${signed(g.count)} (${signed(g.size)} B), ${fresh} of them new since the first snapshot` +
      `${g.count >= counts.proxies ? ' — at least one per proxy' : ''}${V8_INTERNAL.has(g.key) ? " — V8's code and metadata, not in the verdict" : ''}` +
      `${path && !V8_INTERNAL.has(g.key) ? `\n    held by (one of the new ones): ${path.join(' ')}` : ''}`,
  );
  const leaks = diff.flagged.filter(({ g }) => !V8_INTERNAL.has(g.key));
  console.log(
    [
      '',
      `- all objects: ${signed(diff.countGrowth)} (${signed(Math.round(diff.sizeGrowth / 1024))} KiB self size): ${perProxy.toFixed(4)} objects per proxy that came and went (${counts.proxies}).`,
      `- constructors grown by at least the number of waves (${flagAt}): ${diff.flagged.length === 0 ? 'none' : `\n${flaggedLines.join('\n')}`}`,
      `- nothing left behind per disconnected proxy (no constructor but V8's code and metadata grown by ${flagAt} or more): ${verdict(leaks.length === 0)}`,
      ...(leaks.length > 0 && leaks.every(({ g }) => g.count < counts.proxies)
        ? [`  (fewer than one per proxy: with only ${flagAt} waves a one-time difference reads as one per wave; a longer run, --minutes 10, tells them apart)`]
        : []),
    ].join('\n'),
  );
  const brief = (g: Growth): Record<string, unknown> => ({ key: g.key, count: g.count, size: g.size });
  return {
    objectGrowth: diff.countGrowth,
    objectsPerProxy: +perProxy.toFixed(4),
    leftBehind: leaks.length > 0,
    flagged: diff.flagged.map(({ g }) => brief(g)),
    topGrowers: diff.growth.slice(0, s.top).map(brief),
  };
}
