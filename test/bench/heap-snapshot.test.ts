import { describe, expect, it } from 'vitest';
import { countsByConstructor, diffCounts, keyOf, newObjects, objectIds, retainerPath, type HeapSnapshot } from './heap-snapshot.ts';

interface Node {
  type: string;
  name: string;
  id: number;
  size: number;
  edges?: { type: string; name: string | number; to: number }[];
}

const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

/** A snapshot in V8's layout (with the trace_node_id and detachedness fields V8 writes), edges to node positions. */
function snapshot(nodes: Node[]): HeapSnapshot {
  const strings: string[] = [];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  };
  const flatNodes: number[] = [];
  const edges: number[] = [];
  for (const n of nodes) {
    flatNodes.push(NODE_TYPES.indexOf(n.type), str(n.name), n.id, n.size, n.edges?.length ?? 0, 0, 0);
    for (const e of n.edges ?? []) edges.push(EDGE_TYPES.indexOf(e.type), typeof e.name === 'number' ? e.name : str(e.name), e.to * 7);
  }
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
        node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
      },
    },
    nodes: flatNodes,
    edges,
    strings,
  };
}

const root: Node = { type: 'synthetic', name: '', id: 1, size: 0, edges: [{ type: 'element', name: 1, to: 1 }] };

/** Before: a holder Map with one Stream; the Stream's name string. */
const before = snapshot([
  root,
  { type: 'object', name: 'Map', id: 3, size: 32, edges: [{ type: 'internal', name: 'table', to: 2 }] },
  { type: 'array', name: '(object elements)', id: 5, size: 100, edges: [{ type: 'element', name: 0, to: 3 }] },
  { type: 'object', name: 'Stream', id: 7, size: 64, edges: [{ type: 'property', name: 'name', to: 4 }] },
  { type: 'string', name: 'proxy-1', id: 9, size: 24 },
]);

/** After: the same, one more Stream in the table (and a weak ref to another), a closure, a string gone. */
const after = snapshot([
  root,
  { type: 'object', name: 'Map', id: 3, size: 32, edges: [{ type: 'internal', name: 'table', to: 2 }] },
  {
    type: 'array',
    name: '(object elements)',
    id: 5,
    size: 160,
    edges: [
      { type: 'element', name: 0, to: 3 },
      { type: 'element', name: 1, to: 4 },
      { type: 'weak', name: 2, to: 5 },
    ],
  },
  { type: 'object', name: 'Stream', id: 7, size: 64 },
  { type: 'object', name: 'Stream', id: 11, size: 64, edges: [{ type: 'property', name: 'onData', to: 6 }] },
  { type: 'object', name: 'Stream', id: 13, size: 64 },
  { type: 'closure', name: 'onData', id: 15, size: 40 },
]);

describe('heap snapshot keys', () => {
  it.each([
    ['object', 'Map', 'Map'],
    ['native', 'Buffer', 'Buffer'],
    ['closure', 'onData', '(closure) onData'],
    ['closure', '', '(closure) (anonymous)'],
    ['string', 'any text at all', '(string)'],
    ['concatenated string', 'a' + 'b', '(string)'],
    ['array', '(object elements)', '(array)'],
    ['hidden', 'system / Context', '(system)'],
    ['synthetic', '(GC roots)', undefined],
  ])('a %s named %j counts as %j', (type, name, key) => {
    expect(keyOf(type, name)).toBe(key);
  });
});

describe('counts by constructor', () => {
  it('counts objects and adds their self sizes per constructor, the root left out', () => {
    expect(Object.fromEntries(countsByConstructor(after))).toEqual({
      Map: { count: 1, size: 32 },
      '(array)': { count: 1, size: 160 },
      Stream: { count: 3, size: 192 },
      '(closure) onData': { count: 1, size: 40 },
    });
  });

  it('fails on a snapshot without the fields it reads', () => {
    const odd = { ...before, snapshot: { meta: { ...before.snapshot.meta, node_fields: ['type', 'name', 'id'] } } };
    expect(() => countsByConstructor(odd)).toThrow(/no 'self_size'/);
  });
});

describe('the diff of two snapshots', () => {
  const diff = diffCounts(countsByConstructor(before), countsByConstructor(after));

  it('lists what changed, the largest count growth first, and what disappeared as negative', () => {
    expect(diff.map((g) => [g.key, g.count, g.size])).toEqual([
      ['Stream', 2, 128],
      ['(closure) onData', 1, 40],
      ['(array)', 0, 60],
      ['(string)', -1, -24],
    ]);
    expect(diff[0]?.before).toEqual({ count: 1, size: 64 });
    expect(diff[0]?.after).toEqual({ count: 3, size: 192 });
  });

  it('leaves out what did not change', () => {
    expect(diff.find((g) => g.key === 'Map')).toBeUndefined();
    expect(diffCounts(countsByConstructor(after), countsByConstructor(after))).toEqual([]);
  });

  it('finds the objects of a constructor that the first snapshot did not have, by id', () => {
    const fresh = newObjects(after, 'Stream', objectIds(before));
    expect(fresh.map((i) => after.nodes[i + 2])).toEqual([11, 13]);
  });
});

describe('retainer paths', () => {
  it('follows the shortest chain of strong references from the root', () => {
    const [held] = newObjects(after, '(closure) onData', objectIds(before));
    expect(retainerPath(after, held ?? -1)).toEqual([
      'synthetic@1',
      '[1] → Map@3',
      '-(internal table)→ (array)@5',
      '[1] → Stream@11',
      '.onData → (closure) onData@15',
    ]);
  });

  it('does not follow weak references: an object only they reach has no path', () => {
    expect(retainerPath(after, 5 * 7)).toBeUndefined();
  });
});
