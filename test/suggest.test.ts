import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance, prefixDistance } from '../src/suggest.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['retries', 'retries', 0],
    ['retires', 'retries', 1], // a swap of two adjacent letters costs one
    ['timout', 'timeout', 1],
    ['kitten', 'sitting', 3],
    ['frontnd', 'frontend-6d9f7-a1', 10],
  ])('%j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('didYouMean', () => {
  const sections = ['targetRefs', 'loadBalancing', 'connectionPool', 'outlierDetection', 'timeouts', 'retries', 'routing'];

  it.each([
    ['retires', 'retries'],
    ['timeout', 'timeouts'],
    ['connectionpool', 'connectionPool'],
    ['targetRef', 'targetRefs'],
  ])('suggests %s → %s', (typo, meant) => {
    expect(didYouMean(typo, sections)).toBe(meant);
  });

  it.each(['security', 'mtls', 'x'])('suggests nothing for %s, which is close to nothing', (word) => {
    expect(didYouMean(word, sections)).toBeUndefined();
  });
});

describe('prefixDistance', () => {
  it.each([
    ['frontnd', 'frontend-6d9f7-a1', 1],
    ['frontend-6d9f7-a2', 'frontend-6d9f7-a1', 1],
    ['frontnd', 'catalog-0', 6],
    ['catalog-0-extra', 'catalog-0', 6],
  ])('%j to the beginning of %j is %d', (a, b, d) => {
    expect(prefixDistance(a, b)).toBe(d);
  });
});

describe('closest', () => {
  const workloads = ['shop/frontend-6d9f7-a1', 'shop/catalog-0', 'shop/catalog-1', 'shop/catalog-2', 'payments/ledger-1', 'shop/cart-cache-0'];

  it('ranks names by how close the word is to their beginning, so generated suffixes do not count', () => {
    expect(closest('shop/frontnd', workloads)[0]).toBe('shop/frontend-6d9f7-a1');
    expect(closest('shop/frontend', workloads)[0]).toBe('shop/frontend-6d9f7-a1');
  });

  it('then by edit distance, then by name, up to the limit, never the word itself', () => {
    expect(closest('shop/catalog-3', workloads)).toEqual(['shop/catalog-0', 'shop/catalog-1', 'shop/catalog-2']);
    expect(closest('shop/catalog-1', workloads, 2)).toEqual(['shop/catalog-0', 'shop/catalog-2']);
    expect(closest('x', [], 3)).toEqual([]);
  });
});
