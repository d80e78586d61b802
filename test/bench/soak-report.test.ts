import { describe, expect, it } from 'vitest';
import { MiB } from './churn-trellis.ts';
import { isFlat, rssSlopes, slope, type Sample } from './soak-report.ts';

const at = (t: number, proxies: number, gcMiB: number, heapMiB = 0): Sample => ({
  t,
  edits: 0,
  waves: 0,
  proxies,
  classes: 1,
  rss: gcMiB * MiB,
  gcRss: gcMiB * MiB,
  heapUsed: heapMiB * MiB,
});

describe('the RSS slope of a soak', () => {
  it.each([
    [[0, 1, 2, 3], [5, 7, 9, 11], 2],
    [[0, 1, 2, 3], [4, 4, 4, 4], 0],
    [[1, 2, 3], [3, 1, 2], -0.5],
    [[2], [10], 0],
    [[2, 2], [1, 9], 0],
  ])('least squares over x %j and y %j: %d', (xs, ys, want) => {
    expect(slope(xs, ys)).toBeCloseTo(want, 10);
  });

  it('fits the samples taken during the churn, not the first (one class, before any wave)', () => {
    const s = rssSlopes([at(0, 0, 100), at(60, 1000, 150), at(120, 2000, 151), at(180, 3000, 152)]);
    expect(s.samples).toBe(3);
    expect(s.perMinute).toBeCloseTo(1, 10);
    expect(s.perThousandProxies).toBeCloseTo(1, 10);
    expect(s.overRun).toBeCloseTo(2, 10);
  });
});

describe('the flat verdict', () => {
  const level = { perMinute: 0, perThousandProxies: 0, overRun: 0, samples: 3 };
  it.each([
    ['within the noise', 100, 109, 70, 71.5, level, true],
    ['RSS grown beyond it', 100, 111, 70, 70, level, false],
    ['memory given back (a fall)', 256, 231, 72, 73, level, true],
    ['heap used grown beyond its own noise', 100, 100, 70, 72.5, level, false],
    ['a fitted slope that adds up beyond it', 100, 100, 70, 70, { ...level, overRun: 10.5 }, false],
  ])('%s', (_, rss0, rss1, heap0, heap1, slopes, want) => {
    expect(isFlat(at(0, 0, rss0, heap0), at(600, 1000, rss1, heap1), slopes, 10, 2)).toBe(want);
  });
});
