/**
 * A class's list after a change of some of its resources (the same names in the same order, a few
 * of them new objects): the cache swaps only those entries (SnapshotCache.step, move). Whatever
 * path it takes, the result must be what a whole build of the list gives, and the cache must hold
 * exactly what the classes hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredResource } from '../../src/envoy/resources.ts';
import { SnapshotCache, type SnapshotChange } from '../../src/xds/cache.ts';
import { fullGc } from '../support/gc.ts';
import { endpoints } from '../support/resources.ts';

type Assignment = DesiredResource<'endpoint'>;

const NAMES = ['a', 'b', 'c', 'd', 'e'];

/** The version and entry versions a cache that never saw anything gives `list`: those of a whole build. */
function wholeBuild(list: readonly Assignment[]): { version: string | undefined; entries: [string, string][] } {
  const fresh = new SnapshotCache();
  fresh.set('x', { endpoint: list });
  const kind = fresh.get('x')?.endpoint;
  return { version: kind?.version, entries: [...(kind?.entries ?? [])].map(([name, e]) => [name, e.version]) };
}

function built(cache: SnapshotCache, cls: string): { version: string | undefined; entries: [string, string][] } {
  const kind = cache.get(cls)?.endpoint;
  return { version: kind?.version, entries: [...(kind?.entries ?? [])].map(([name, e]) => [name, e.version]) };
}

function watch(cache: SnapshotCache): { changes: SnapshotChange[]; released: string[] } {
  const seen = { changes: [] as SnapshotChange[], released: [] as string[] };
  cache.onChange((c) => seen.changes.push(c));
  cache.onRelease((v) => seen.released.push(v));
  return seen;
}

describe('SnapshotCache, a list whose resources changed in place', () => {
  it('swaps only the changed entries, giving the version, entries and change of a whole build, and lets go of the old entry and version', () => {
    const cache = new SnapshotCache();
    const seen = watch(cache);
    const list = NAMES.slice(0, 4).map((n, i) => endpoints(n, [1000 + i]));
    cache.set('c', { endpoint: list });
    const before = cache.get('c')?.endpoint;
    const next = list.map((e) => (e.name === 'c' ? endpoints('c', [2000]) : e));
    cache.set('c', { endpoint: next });
    expect(built(cache, 'c')).toEqual(wholeBuild(next));
    const after = cache.get('c')?.endpoint;
    expect(after?.entries.get('a')).toBe(before?.entries.get('a'));
    expect(after?.entries.get('c')).not.toBe(before?.entries.get('c'));
    const change = seen.changes[1]?.kinds.get('endpoint');
    expect([...(change?.updated ?? [])]).toEqual(['c']);
    expect([...(change?.removed ?? [])]).toEqual([]);
    expect(cache.encodes).toBe(5);
    expect(cache.size).toBe(4);
    expect(seen.released).toEqual([before?.version]);
  });

  it('emits nothing for new objects of the same content', () => {
    const cache = new SnapshotCache();
    const seen = watch(cache);
    const list = NAMES.map((n, i) => endpoints(n, [1000 + i]));
    cache.set('c', { endpoint: list });
    cache.set('c', { endpoint: list.map((e, i) => (i === 2 ? endpoints(e.name, [1002]) : e)) });
    expect(seen.changes).toHaveLength(1);
    expect(seen.released).toEqual([]);
  });

  it('keeps the old entry while another class holds the snapshot it was in', () => {
    const cache = new SnapshotCache();
    const seen = watch(cache);
    const list = NAMES.map((n, i) => endpoints(n, [1000 + i]));
    cache.set('one', { endpoint: list });
    cache.set('two', { endpoint: list });
    const old = cache.get('one')?.endpoint.version;
    const next = list.map((e, i) => (i === 1 ? endpoints(e.name, [7]) : e));
    cache.set('one', { endpoint: next });
    expect(built(cache, 'one')).toEqual(wholeBuild(next));
    expect(cache.size).toBe(6);
    expect(seen.released).toEqual([]);
    cache.set('two', { endpoint: list.map((e, i) => (i === 1 ? endpoints(e.name, [7]) : e)) });
    expect(built(cache, 'two')).toEqual(wholeBuild(next));
    expect(cache.size).toBe(5);
    expect(seen.released).toEqual([old]);
  });

  it('names a changed resource that fails to encode, and keeps its last good version serving', () => {
    const cache = new SnapshotCache();
    const list = NAMES.slice(0, 2).map((n, i) => endpoints(n, [1000 + i]));
    cache.set('c', { endpoint: list });
    const good = cache.get('c')?.endpoint.entries.get('b');
    const bad = { ...endpoints('b', [1]), message: { cluster_name: 'b', endpoint: [] } };
    const errors = cache.set('c', { endpoint: [list[0] as Assignment, bad] });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^ClusterLoadAssignment b: .*endpoint.*; the last good version keeps serving$/)]);
    expect(cache.get('c')?.endpoint.entries.get('b')).toBe(good);
  });

  it('keeps no snapshot a class has stepped away from alive', async () => {
    const cache = new SnapshotCache();
    let list = NAMES.map((n, i) => endpoints(n, [1000 + i]));
    cache.set('c', { endpoint: list });
    const first = new WeakRef(cache.get('c')?.endpoint ?? {});
    for (let i = 0; i < 6; i++) {
      list = list.map((e, j) => (j === i % list.length ? endpoints(e.name, [2000 + i]) : e));
      cache.set('c', { endpoint: list });
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds its target until the job ends
    fullGc();
    expect(first.deref()).toBeUndefined();
  });

  /** An operation on one of three classes: a list stepped from its last one, another class's very list, a list of other names, or no list. */
  const op = fc.record({
    cls: fc.constantFrom('p', 'q', 'r'),
    what: fc.oneof(
      fc.record({ step: fc.array(fc.record({ at: fc.nat({ max: NAMES.length - 1 }), port: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }) }),
      fc.record({ share: fc.constantFrom('p', 'q', 'r') }),
      fc.record({ names: fc.subarray(NAMES, { minLength: 1 }) }),
      fc.constant({ drop: true as const }),
    ),
  });

  it('holds exactly what the classes hold, each with the version of a whole build, whatever the sequence', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const cache = new SnapshotCache();
        const seen = watch(cache);
        const lists = new Map<string, readonly Assignment[]>();
        let versions = new Set<string | undefined>();
        for (const { cls, what } of ops) {
          const last = lists.get(cls) ?? NAMES.map((n) => endpoints(n, [1]));
          if ('step' in what) {
            const next = [...last];
            for (const { at, port } of what.step) if (next[at]) next[at] = endpoints(next[at].name, [port]);
            lists.set(cls, next);
          } else if ('share' in what) lists.set(cls, lists.get(what.share) ?? last);
          else if ('names' in what)
            lists.set(
              cls,
              what.names.map((n) => endpoints(n, [2])),
            );
          if ('drop' in what) {
            lists.delete(cls);
            cache.delete(cls);
          } else cache.set(cls, { endpoint: lists.get(cls) ?? [] });
          for (const [c, list] of lists) expect(built(cache, c)).toEqual(wholeBuild(list));
          const contents = new Set([...lists.values()].flat().map((r) => JSON.stringify([r.name, r.message])));
          expect(cache.size).toBe(contents.size);
          const held = new Set([...lists.keys()].map((c) => cache.get(c)?.endpoint.version));
          const released = new Set(seen.released.splice(0));
          for (const v of released) expect(held.has(v)).toBe(false);
          for (const v of versions) if (!held.has(v)) expect(released.has(v as string)).toBe(true);
          versions = held;
        }
      }),
      { numRuns: 300 },
    );
  });
});
