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

  it('tells equal and different sets of one size apart, whichever was acquired last', () => {
    const sets = new NameSets();
    const ab = sets.acquire(new Set(['a', 'b']));
    const ac = sets.acquire(new Set(['a', 'c']));
    expect(ac).not.toBe(ab);
    expect(sets.acquire(new Set(['c', 'a']))).toBe(ac);
    expect(sets.acquire(new Set(['b', 'a']))).toBe(ab);
    expect(sets.acquire(new Set(['b', 'c']))).not.toBe(ab);
    expect(sets.size).toBe(3);
  });

  it('does not hand out a set dropped by its last holder, even the one acquired last', () => {
    const sets = new NameSets();
    const a = sets.acquire(new Set(['x', 'y']));
    sets.release(a);
    const again = sets.acquire(new Set(['y', 'x']));
    expect(again).not.toBe(a);
    expect(sets.size).toBe(1);
    sets.release(again);
    expect(sets.size).toBe(0);
  });

  it('shares a set named by a key only under that key', () => {
    const sets = new NameSets();
    const keyed = sets.acquire(new Set(['x', 'y']), 'sotw:k');
    const plain = sets.acquire(new Set(['x', 'y']));
    expect(plain).not.toBe(keyed);
    expect(sets.acquire(new Set(['y', 'x']))).toBe(plain);
    expect(sets.size).toBe(2);
  });
});
