import { describe, expect, it } from 'vitest';
import { joinSorted } from '../../src/envoy/resources.ts';
import { SnapshotCache, type SnapshotChange } from '../../src/xds/cache.ts';
import { cluster, endpoints } from '../support/resources.ts';

function changes(cache: SnapshotCache): SnapshotChange[] {
  const seen: SnapshotChange[] = [];
  cache.onChange((c) => seen.push(c));
  return seen;
}

describe('SnapshotCache', () => {
  it('versions a resource by its content, the same in every cache', () => {
    const one = new SnapshotCache();
    const two = new SnapshotCache();
    one.set('x', { cluster: [cluster('a'), cluster('b')] });
    two.set('y', { cluster: [cluster('b'), cluster('a')] });
    const a1 = one.get('x')?.cluster;
    const a2 = two.get('y')?.cluster;
    expect(a1?.entries.get('a')?.version).toMatch(/^[0-9a-f]{32}$/);
    expect(a1?.entries.get('a')?.version).toBe(a2?.entries.get('a')?.version);
    expect(a1?.version).toBe(a2?.version);
    expect([...(a1?.entries.keys() ?? [])]).toEqual(['a', 'b']);
  });

  it('encodes a resource once, however many proxy classes share it', () => {
    const cache = new SnapshotCache();
    for (let i = 0; i < 50; i++) cache.set(`class-${i}`, { cluster: [cluster('shared')] });
    expect(cache.encodes).toBe(1);
    const entries = new Set(cache.classes().map((c) => cache.get(c)?.cluster.entries.get('shared')));
    expect(entries.size).toBe(1);
  });

  it('encodes only what changed when a snapshot is replaced', () => {
    const cache = new SnapshotCache();
    const all = Array.from({ length: 100 }, (_, i) => endpoints(`e${i}`, [1000 + i]));
    cache.set('c', { endpoint: all });
    expect(cache.encodes).toBe(100);
    const next = all.map((e, i) => (i === 7 ? endpoints('e7', [9999]) : { ...e, message: structuredClone(e.message) }));
    cache.set('c', { endpoint: next });
    expect(cache.encodes).toBe(101);
  });

  it('reports exactly the names that changed and were removed, per kind', () => {
    const cache = new SnapshotCache();
    const seen = changes(cache);
    cache.set('c', { cluster: [cluster('a'), cluster('b')], endpoint: [endpoints('a', [1])] });
    cache.set('c', { cluster: [cluster('a', 9), cluster('c')], endpoint: [endpoints('a', [1])] });
    expect(seen).toHaveLength(2);
    const last = seen[1];
    expect([...(last?.kinds.keys() ?? [])]).toEqual(['cluster']);
    expect([...(last?.kinds.get('cluster')?.updated ?? [])].sort()).toEqual(['a', 'c']);
    expect([...(last?.kinds.get('cluster')?.removed ?? [])]).toEqual(['b']);
  });

  it('emits nothing when the content is the same', () => {
    const cache = new SnapshotCache();
    const seen = changes(cache);
    cache.set('c', { cluster: [cluster('a')] });
    cache.set('c', { cluster: [cluster('a')] });
    expect(seen).toHaveLength(1);
  });

  it('leaves kinds it is not given as they were', () => {
    const cache = new SnapshotCache();
    cache.set('c', { cluster: [cluster('a')], endpoint: [endpoints('a', [1])] });
    cache.set('c', { endpoint: [endpoints('a', [2])] });
    expect([...(cache.get('c')?.cluster.entries.keys() ?? [])]).toEqual(['a']);
  });

  it('keeps serving the last good version of a resource that fails to encode, and names it', () => {
    const cache = new SnapshotCache();
    cache.set('c', { cluster: [cluster('a'), cluster('b')] });
    const good = cache.get('c')?.cluster.entries.get('a');
    const bad = { name: 'a', message: { name: 'a', conect_timeout: { seconds: 1 } }, sources: [{ kind: 'Service', namespace: 'default', name: 'a' }] };
    const errors = cache.set('c', { cluster: [bad, cluster('b', 3)] });
    expect(errors).toEqual([
      {
        severity: 'error',
        object: { kind: 'Service', namespace: 'default', name: 'a' },
        message: expect.stringMatching(/^Cluster a: .*conect_timeout: unknown field.*; the last good version keeps serving$/),
      },
    ]);
    expect(cache.get('c')?.cluster.entries.get('a')).toBe(good);
    expect(cache.get('c')?.cluster.entries.get('b')?.version).not.toBe(good?.version);
  });

  it('refuses two resources of one kind with the same name', () => {
    const cache = new SnapshotCache();
    const errors = cache.set('c', { cluster: [cluster('a'), cluster('a', 2)] });
    expect(errors.map((e) => e.message)).toEqual(['Cluster a: duplicate cluster name "a"; the last good version keeps serving']);
    expect(cache.get('c')?.cluster.entries.size).toBe(1);
  });

  it('frees resources no snapshot holds any more', () => {
    const cache = new SnapshotCache();
    cache.set('one', { cluster: [cluster('a'), cluster('b')] });
    cache.set('two', { cluster: [cluster('a')] });
    expect(cache.size).toBe(2);
    cache.set('one', { cluster: [] });
    expect(cache.size).toBe(1);
    cache.delete('two');
    expect(cache.size).toBe(0);
  });

  it('becomes ready once, and tells its listeners', () => {
    const cache = new SnapshotCache();
    let calls = 0;
    cache.onReady(() => calls++);
    expect(cache.ready).toBe(false);
    cache.markReady();
    cache.markReady();
    expect(cache.ready).toBe(true);
    expect(calls).toBe(1);
  });
});

describe('SnapshotCache, unchanged kinds', () => {
  it('keeps the same kind snapshot when every resource is the one it holds', () => {
    const cache = new SnapshotCache();
    const clusters = [cluster('a'), cluster('b')];
    cache.set('c', { cluster: clusters, endpoint: [endpoints('a', [1])] });
    const before = cache.get('c')?.cluster;
    cache.set('c', { cluster: clusters, endpoint: [endpoints('a', [2])] });
    expect(cache.get('c')?.cluster).toBe(before);
  });

  it('still notices a removal hidden behind a resource given twice', () => {
    const cache = new SnapshotCache();
    const [a, b] = [cluster('a'), cluster('b')];
    cache.set('c', { cluster: [a, b] });
    const errors = cache.set('c', { cluster: [a, a] });
    expect(errors.map((e) => e.message)).toEqual(['Cluster a: duplicate cluster name "a"; the last good version keeps serving']);
    expect([...(cache.get('c')?.cluster.entries.keys() ?? [])]).toEqual(['a']);
  });
});

describe('SnapshotCache, one list handed to many classes', () => {
  it('builds a list once for every class that held the same snapshot, and gives each the same change', () => {
    const cache = new SnapshotCache();
    const seen = changes(cache);
    const first = Array.from({ length: 20 }, (_, i) => endpoints(`e${i}`, [1000 + i]));
    for (let c = 0; c < 100; c++) cache.set(`class-${c}`, { endpoint: first });
    const held = new Set(cache.classes().map((c) => cache.get(c)?.endpoint));
    expect(held.size).toBe(1);
    const next = first.map((e, i) => (i === 3 ? endpoints('e3', [9]) : e));
    seen.length = 0;
    for (let c = 0; c < 100; c++) cache.set(`class-${c}`, { endpoint: next });
    expect(new Set(cache.classes().map((c) => cache.get(c)?.endpoint)).size).toBe(1);
    expect(seen).toHaveLength(100);
    expect(new Set(seen.map((s) => s.kinds.get('endpoint')))).toHaveProperty('size', 1);
    expect([...(seen[0]?.kinds.get('endpoint')?.updated ?? [])]).toEqual(['e3']);
    expect(cache.encodes).toBe(21);
    expect(cache.size).toBe(20);
  });

  it('gives a class that held another snapshot its own build and change', () => {
    const cache = new SnapshotCache();
    const list = [endpoints('a', [1]), endpoints('b', [2])];
    cache.set('one', { endpoint: list });
    cache.set('two', { endpoint: [endpoints('a', [1])] });
    const seen = changes(cache);
    const next = [endpoints('a', [1]), endpoints('b', [3])];
    cache.set('one', { endpoint: next });
    cache.set('two', { endpoint: next });
    expect([...(seen[0]?.kinds.get('endpoint')?.updated ?? [])]).toEqual(['b']);
    expect([...(seen[1]?.kinds.get('endpoint')?.updated ?? [])]).toEqual(['b']);
    expect(cache.get('two')?.endpoint.entries.get('b')).toBe(cache.get('one')?.endpoint.entries.get('b'));
    expect(cache.get('two')?.endpoint.version).toBe(cache.get('one')?.endpoint.version);
  });

  it('names a resource that fails to encode to every class given the list, and keeps each one serving', () => {
    const cache = new SnapshotCache();
    const good = [cluster('a')];
    cache.set('one', { cluster: good });
    cache.set('two', { cluster: good });
    const bad = [{ name: 'a', message: { name: 'a', conect_timeout: { seconds: 1 } }, sources: [{ kind: 'Service', namespace: 'default', name: 'a' }] }];
    const one = cache.set('one', { cluster: bad });
    const two = cache.set('two', { cluster: bad });
    expect(one.map((e) => e.message)).toEqual([expect.stringMatching(/^Cluster a: .*conect_timeout/)]);
    expect(two).toEqual(one);
    expect(cache.set('two', { cluster: bad })).toEqual(one);
    expect(cache.get('two')?.cluster.entries.get('a')?.version).toBe(cache.get('one')?.cluster.entries.get('a')?.version);
  });

  it('frees a shared snapshot’s resources once the last class holding it lets go', () => {
    const cache = new SnapshotCache();
    const list = [cluster('a'), cluster('b')];
    for (const c of ['one', 'two', 'three']) cache.set(c, { cluster: list });
    expect(cache.size).toBe(2);
    cache.delete('one');
    cache.set('two', { cluster: [cluster('a')] });
    expect(cache.size).toBe(2);
    cache.delete('three');
    expect(cache.size).toBe(1);
    cache.delete('two');
    expect(cache.size).toBe(0);
    cache.set('four', { cluster: list });
    expect(cache.size).toBe(2);
  });
});

describe('SnapshotCache.prepare', () => {
  it('encodes lists ahead of the classes, which then share them and encode nothing', () => {
    const cache = new SnapshotCache();
    const seen = changes(cache);
    const shared = [endpoints('a', [1]), endpoints('b', [2])];
    expect(cache.prepare('shared', { endpoint: shared })).toEqual([]);
    expect([cache.encodes, cache.size, cache.classCount, seen.length]).toEqual([2, 2, 0, 0]);
    cache.set('one', { endpoint: shared });
    cache.set('two', { endpoint: shared });
    expect(cache.encodes).toBe(2);
    expect(cache.get('two')?.endpoint).toBe(cache.get('one')?.endpoint);
    expect([...(seen[0]?.kinds.get('endpoint')?.updated ?? [])]).toEqual(['a', 'b']);
  });

  it('lets go of what it held once prepared again, keeping what a class still holds', () => {
    const cache = new SnapshotCache();
    cache.prepare('shared', { cluster: [cluster('a'), cluster('b')] });
    cache.set('one', { cluster: [cluster('b')] });
    cache.prepare('shared', { cluster: [cluster('c')] });
    expect(cache.size).toBe(2);
    cache.delete('one');
    expect(cache.size).toBe(1);
  });
});

describe('SnapshotCache, lists joined from parts', () => {
  const shared = [cluster('b'), cluster('d'), cluster('f')];

  it('holds a part once for every class, reads the parts through in name order, and versions the whole as a list of the same content', () => {
    const cache = new SnapshotCache();
    const own = (name: string) => joinSorted([shared, [cluster(name)]]);
    cache.set('one', { cluster: own('a') });
    cache.set('two', { cluster: own('e') });
    const one = cache.get('one')?.cluster;
    expect([...(one?.entries.keys() ?? [])]).toEqual(['a', 'b', 'd', 'f']);
    expect([...(cache.get('two')?.cluster.entries.keys() ?? [])]).toEqual(['b', 'd', 'e', 'f']);
    expect(one?.entries.get('d')).toBe(cache.get('two')?.cluster.entries.get('d'));
    expect([one?.entries.size, one?.entries.has('e'), one?.entries.get('e')]).toEqual([4, false, undefined]);
    expect(cache.encodes).toBe(5);
    const plain = new SnapshotCache();
    plain.set('x', { cluster: [cluster('a'), ...shared] });
    expect(one?.version).toBe(plain.get('x')?.cluster.version);
    cache.delete('one');
    expect(cache.size).toBe(4);
    cache.delete('two');
    expect(cache.size).toBe(0);
  });

  it('tells each class what changed when a shared part does, and when a name moves between parts', () => {
    const cache = new SnapshotCache();
    const seen = changes(cache);
    cache.set('one', { cluster: joinSorted([shared, [cluster('a')]]) });
    cache.set('two', { cluster: joinSorted([shared, [cluster('e')]]) });
    seen.length = 0;
    const next = [cluster('b'), cluster('d', 7), cluster('g')];
    cache.set('one', { cluster: joinSorted([next, [cluster('a')]]) });
    cache.set('two', { cluster: joinSorted([next, [cluster('f')]]) });
    const [one, two] = seen.map((c) => c.kinds.get('cluster'));
    expect([[...(one?.updated ?? [])].sort(), [...(one?.removed ?? [])].sort()]).toEqual([['d', 'g'], ['f']]);
    // f left the shared part and came back as two's own, the same resource: neither updated nor removed.
    expect([[...(two?.updated ?? [])].sort(), [...(two?.removed ?? [])].sort()]).toEqual([['d', 'g'], ['e']]);
  });

  it('reports a name given by two parts, as for any list', () => {
    const cache = new SnapshotCache();
    const errors = cache.set('c', { cluster: joinSorted([shared, [cluster('d', 9)]]) });
    expect(errors.map((e) => e.message)).toEqual(['Cluster d: duplicate cluster name "d"; the last good version keeps serving']);
    expect(cache.get('c')?.cluster.entries.size).toBe(3);
  });

  it('encodes the same content from other sources once', () => {
    const cache = new SnapshotCache();
    const from = (pod: string) => ({ ...cluster('inbound'), sources: [{ kind: 'Pod', namespace: 'default', name: pod }] });
    cache.set('one', { cluster: [from('a')] });
    cache.set('two', { cluster: [from('b')] });
    expect(cache.encodes).toBe(1);
    const [a, b] = ['one', 'two'].map((c) => cache.get(c)?.cluster.entries.get('inbound'));
    expect(a?.sources).toEqual([{ kind: 'Pod', namespace: 'default', name: 'a' }]);
    expect(b?.sources).toEqual([{ kind: 'Pod', namespace: 'default', name: 'b' }]);
    expect(b?.any).toBe(a?.any);
  });
});
