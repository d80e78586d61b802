/**
 * InputList (model/memo.ts): a step's inputs listed against the last build's list, which is handed
 * back as the very list while nothing differs, so that long inputs cost no new array.
 */
import { describe, expect, it } from 'vitest';
import { InputList } from '../../src/model/memo.ts';

const a = {};
const b = {};

function listed(last: readonly unknown[] | undefined, values: readonly unknown[]): readonly unknown[] {
  const inputs = new InputList(last);
  for (const v of values) inputs.push(v);
  return inputs.list();
}

describe('InputList', () => {
  it('is the last list itself when every value is the one at its place', () => {
    const last = [a, 'x', 1, undefined, b];
    expect(listed(last, [a, 'x', 1, undefined, b])).toBe(last);
    const none: unknown[] = [];
    expect(listed(none, [])).toBe(none);
  });

  it.each([
    ['the first value', [b, 'x', 1, undefined, b]],
    ['a middle value', [a, 'x', 2, undefined, b]],
    ['the last value', [a, 'x', 1, undefined, a]],
    ['one value more', [a, 'x', 1, undefined, b, b]],
    ['one value fewer', [a, 'x', 1, undefined]],
    ['an object for an equal one', [{}, 'x', 1, undefined, b]],
  ])('is a new list of the values listed when %s differs', (_what, values) => {
    const last = [a, 'x', 1, undefined, b];
    const list = listed(last, values);
    expect(list).not.toBe(last);
    expect(list).toEqual(values);
    expect(list.every((v, i) => v === values[i])).toBe(true);
  });

  it('lists the values without a last list', () => {
    expect(listed(undefined, [a, 1])).toEqual([a, 1]);
    expect(listed(undefined, [])).toEqual([]);
  });
});
