/**
 * The per-model memos shared between proxy classes stay bounded whatever keys proxies choose: a
 * made-up pod shares the translation of every pod the model lacks, and a memo keeps at most its limit.
 */
import { describe, expect, it } from 'vitest';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { Memo } from '../../src/translate/translation.ts';
import { mesh, WEB_PROXY } from './model-fixtures.ts';

describe('Memo', () => {
  it('makes a value once per key, keeps at most its limit and drops the least recently used first', () => {
    const memo = new Memo<string>(2);
    let made = 0;
    const get = (key: string) => memo.get(key, () => `${key}${++made}`);
    expect([get('a'), get('b'), get('a')]).toEqual(['a1', 'b2', 'a1']);
    expect(get('c')).toBe('c3'); // b, the least recently used, goes
    expect(memo.size).toBe(2);
    expect([get('a'), get('c'), get('b')]).toEqual(['a1', 'c3', 'b4']);
  });
});

describe('sidecar translation shared between classes', () => {
  it('gives pods the model lacks one translation, whatever names their proxies give', () => {
    const model = mesh();
    const a = translateSidecar(model, { ...WEB_PROXY, pod: 'made-up-1' });
    const b = translateSidecar(model, { ...WEB_PROXY, pod: 'made-up-2' });
    expect(b.resources.listener).toEqual(a.resources.listener);
    // The same inbound objects, not copies: nothing is kept per made-up pod.
    const inboundOf = (t: typeof a) => t.resources.listener.find((l) => l.name === 'virtualInbound');
    expect(inboundOf(b)).toBe(inboundOf(a));
    const known = translateSidecar(model, WEB_PROXY);
    expect(inboundOf(known)).not.toBe(inboundOf(a));
  });
});
