import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../src/suggest.ts';

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

describe('closest', () => {
  const workloads = ['shop/frontend-6d9f7-a1', 'shop/catalog-7c4b9-x2', 'shop/catalog-7c4b9-y3', 'payments/ledger-1', 'shop/cart-cache-0'];

  it('orders by distance, then by name, up to the limit', () => {
    expect(closest('shop/frontnd', workloads)).toEqual(['shop/frontend-6d9f7-a1', 'shop/cart-cache-0', 'shop/catalog-7c4b9-x2']);
    expect(closest('shop/catalog-7c4b9-x3', workloads, { limit: 2 })).toEqual(['shop/catalog-7c4b9-x2', 'shop/catalog-7c4b9-y3']);
  });

  it('keeps only candidates within maxDistance, and never the word itself', () => {
    expect(closest('shop/cart-cache-0', workloads, { maxDistance: 3 })).toEqual([]);
    expect(closest('shop/cart-cache-1', workloads, { maxDistance: 3 })).toEqual(['shop/cart-cache-0']);
  });
});
