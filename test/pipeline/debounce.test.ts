import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Debouncer, type DebounceWindow } from '../../src/pipeline/debounce.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

function debouncer(minMs: number, maxMs: number): { d: Debouncer; runs: DebounceWindow[] } {
  const runs: DebounceWindow[] = [];
  return { d: new Debouncer({ minMs, maxMs }, (w) => runs.push(w)), runs };
}

describe('Debouncer', () => {
  it('runs once the sources have been quiet for the minimum delay, folding the changes', () => {
    const { d, runs } = debouncer(100, 1000);
    d.trigger();
    vi.advanceTimersByTime(50);
    d.trigger();
    vi.advanceTimersByTime(99);
    expect(runs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([{ waitedSeconds: 0.15, changes: 2 }]);
  });

  it('never holds a change longer than the maximum delay, however busy the sources are', () => {
    const { d, runs } = debouncer(100, 300);
    for (let t = 0; t < 1000; t += 50) {
      d.trigger();
      vi.advanceTimersByTime(50);
    }
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const w of runs) expect(w.waitedSeconds).toBeLessThanOrEqual(0.3);
  });

  it('runs a pending build on flush, and nothing after close', () => {
    const { d, runs } = debouncer(100, 1000);
    d.trigger();
    d.flush();
    expect(runs).toHaveLength(1);
    d.trigger();
    d.close();
    vi.advanceTimersByTime(2000);
    expect(runs).toHaveLength(1);
  });

  it('refuses a minimum above the maximum', () => {
    expect(() => debouncer(500, 100)).toThrow(/min \(500\) <= max \(100\)/);
  });
});
