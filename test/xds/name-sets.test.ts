import { describe, expect, it } from 'vitest';
import { EMPTY_NAMES, NameSets } from '../../src/xds/name-sets.ts';

describe('NameSets', () => {
  it('hands out one shared set for equal subscriptions, whatever their order', () => {
    const sets = new NameSets();
    const a = sets.acquire(new Set(['x', 'y', 'z']));
    const b = sets.acquire(new Set(['z', 'x', 'y']));
    expect(b).toBe(a);
    expect(sets.size).toBe(1);
    expect(sets.acquire(new Set(['x']))).not.toBe(a);
  });

  it('drops a set when the last holder releases it', () => {
    const sets = new NameSets();
    const a = sets.acquire(new Set(['x']));
    sets.acquire(new Set(['x']));
    sets.release(a);
    expect(sets.size).toBe(1);
    sets.release(a);
    expect(sets.size).toBe(0);
    expect(sets.acquire(new Set(['x']))).not.toBe(a);
  });

  it('uses one empty set and does not count it', () => {
    const sets = new NameSets();
    expect(sets.acquire(new Set())).toBe(EMPTY_NAMES);
    sets.release(EMPTY_NAMES);
    expect(sets.size).toBe(0);
  });
});
