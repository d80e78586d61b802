import { describe, expect, it } from 'vitest';
import { MiB } from './churn-trellis.ts';
import { rssSlopes, slope, type Sample } from './soak-report.ts';

const at = (t: number, proxies: number, gcMiB: number): Sample => ({
  t,
  edits: 0,
  waves: 0,
  proxies,
  classes: 1,
  rss: gcMiB * MiB,
  gcRss: gcMiB * MiB,
  heapUsed: 0,
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
