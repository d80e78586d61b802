/**
 * V8 heap snapshots (`v8.writeHeapSnapshot()`, the .heapsnapshot JSON DevTools reads), read in the bench
 * process: objects counted by constructor, two snapshots diffed, the objects of the second that the first
 * did not have (V8 keeps an object's id across the snapshots of one process), and the shortest path from the
 * root to one of them — what holds it.
 *
 * The format: `snapshot.meta.node_fields` names the fields of each node in the flat `nodes` array (type,
 * name, id, self_size, edge_count, ...), `meta.node_types[0]` the node types by index; `name` indexes
 * `strings`. `edges` is flat too (`meta.edge_fields`: type, name_or_index, to_node), each node's edges
 * following those of the nodes before it; `to_node` is an offset into `nodes`.
 */
import { readFile } from 'node:fs/promises';

export interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly unknown[];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly unknown[];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

export async function readHeapSnapshot(path: string): Promise<HeapSnapshot> {
  return JSON.parse(await readFile(path, 'utf8')) as HeapSnapshot;
}

/** The groups DevTools' summary uses for what has no constructor of its own. */
const GROUPS: Readonly<Record<string, string>> = {
  hidden: '(system)',
  array: '(array)',
  string: '(string)',
  'concatenated string': '(string)',
  'sliced string': '(string)',
  code: '(compiled code)',
  number: '(heap number)',
  regexp: '(regexp)',
  symbol: '(symbol)',
  bigint: '(bigint)',
  'object shape': '(object shape)',
};

/** An object's key: its constructor's name (objects, native objects), `(closure) name`, or a group. */
export function keyOf(type: string, name: string): string | undefined {
  if (type === 'object' || type === 'native') return name;
  if (type === 'closure') return `(closure) ${name || '(anonymous)'}`;
  if (type === 'synthetic') return undefined;
  return GROUPS[type] ?? `(${type})`;
}

/** Field offsets and node types, checked: a format this code does not know fails here. */
class Layout {
  readonly nodeSize: number;
  readonly edgeSize: number;
  readonly type: number;
  readonly name: number;
  readonly id: number;
  readonly selfSize: number;
  readonly edgeCount: number;
  readonly nodeTypes: readonly string[];
  readonly edgeTypes: readonly string[];
  readonly edgeType: number;
  readonly edgeName: number;
  readonly toNode: number;

  constructor(s: HeapSnapshot) {
    const { node_fields: nf, edge_fields: ef, node_types: nt, edge_types: et } = s.snapshot.meta;
    const at = (fields: readonly string[], f: string): number => {
      const i = fields.indexOf(f);
      if (i < 0) throw new Error(`heap snapshot: no '${f}' in meta (${fields.join(', ')})`);
      return i;
    };
    [this.type, this.name, this.id, this.selfSize, this.edgeCount] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => at(nf, f)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    [this.edgeType, this.edgeName, this.toNode] = ['type', 'name_or_index', 'to_node'].map((f) => at(ef, f)) as [number, number, number];
    this.nodeSize = nf.length;
    this.edgeSize = ef.length;
    this.nodeTypes = nt[this.type] as string[];
    this.edgeTypes = et[this.edgeType] as string[];
  }
}

export interface Tally {
  count: number;
  size: number;
}

/** Objects (count and self size in bytes) by constructor name or group. */
export function countsByConstructor(s: HeapSnapshot): Map<string, Tally> {
  const l = new Layout(s);
  const out = new Map<string, Tally>();
  for (let i = 0; i < s.nodes.length; i += l.nodeSize) {
    const key = nodeKey(s, l, i);
    if (key === undefined) continue;
    const t = out.get(key) ?? { count: 0, size: 0 };
    t.count += 1;
    t.size += s.nodes[i + l.selfSize] ?? 0;
    out.set(key, t);
  }
  return out;
}

function nodeKey(s: HeapSnapshot, l: Layout, i: number): string | undefined {
  return keyOf(l.nodeTypes[s.nodes[i + l.type] ?? -1] ?? '', s.strings[s.nodes[i + l.name] ?? -1] ?? '');
}

export interface Growth {
  readonly key: string;
  readonly before: Tally;
  readonly after: Tally;
  /** after − before */
  readonly count: number;
  readonly size: number;
}

/** Every key whose count or size changed, the largest count growth first (then size, then key). */
export function diffCounts(before: ReadonlyMap<string, Tally>, after: ReadonlyMap<string, Tally>): Growth[] {
  const none: Tally = { count: 0, size: 0 };
  const keys = new Set([...before.keys(), ...after.keys()]);
  const out: Growth[] = [];
  for (const key of keys) {
    const b = before.get(key) ?? none;
    const a = after.get(key) ?? none;
    if (a.count !== b.count || a.size !== b.size) out.push({ key, before: b, after: a, count: a.count - b.count, size: a.size - b.size });
  }
  return out.sort((x, y) => y.count - x.count || y.size - x.size || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** The ids of every object in the snapshot. */
export function objectIds(s: HeapSnapshot): Set<number> {
  const l = new Layout(s);
  const ids = new Set<number>();
  for (let i = 0; i < s.nodes.length; i += l.nodeSize) ids.add(s.nodes[i + l.id] ?? -1);
  return ids;
}

/** Offsets (into `nodes`) of the objects with that key whose id `seen` does not hold: new since then. */
export function newObjects(s: HeapSnapshot, key: string, seen: ReadonlySet<number>): number[] {
  const l = new Layout(s);
  const out: number[] = [];
  for (let i = 0; i < s.nodes.length; i += l.nodeSize) if (!seen.has(s.nodes[i + l.id] ?? -1) && nodeKey(s, l, i) === key) out.push(i);
  return out;
}

/**
 * The shortest chain of strong references from the root (the first node) to the node at `target`, as
 * `key@id` steps joined by the edge names (`.prop`, `[index]`, `-(internal name)->`); weak edges are not
 * followed. Undefined when nothing strong reaches it.
 */
export function retainerPath(s: HeapSnapshot, target: number): string[] | undefined {
  const l = new Layout(s);
  const nodeCount = s.nodes.length / l.nodeSize;
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0; n < nodeCount; n++) firstEdge[n + 1] = (firstEdge[n] ?? 0) + (s.nodes[n * l.nodeSize + l.edgeCount] ?? 0) * l.edgeSize;
  const via = new Int32Array(nodeCount).fill(-1);
  via[0] = 0;
  const queue = [0];
  for (let q = 0; q < queue.length && via[target / l.nodeSize] === -1; q++) {
    const n = queue[q] ?? 0;
    for (let e = firstEdge[n] ?? 0; e < (firstEdge[n + 1] ?? 0); e += l.edgeSize) {
      if (l.edgeTypes[s.edges[e + l.edgeType] ?? -1] === 'weak') continue;
      const to = (s.edges[e + l.toNode] ?? 0) / l.nodeSize;
      if (via[to] !== -1) continue;
      via[to] = e;
      queue.push(to);
    }
  }
  if (via[target / l.nodeSize] === -1) return undefined;
  const steps: string[] = [];
  for (let n = target / l.nodeSize; n !== 0;) {
    const e = via[n] ?? 0;
    steps.push(`${edgeLabel(s, l, e)} ${describe(s, l, n * l.nodeSize)}`);
    n = upperBound(firstEdge, e) - 1;
  }
  return [describe(s, l, 0), ...steps.reverse()];
}

function describe(s: HeapSnapshot, l: Layout, i: number): string {
  const type = l.nodeTypes[s.nodes[i + l.type] ?? -1] ?? '';
  const name = s.strings[s.nodes[i + l.name] ?? -1] ?? '';
  return `${keyOf(type, name) ?? (name || type)}@${s.nodes[i + l.id]}`;
}

function edgeLabel(s: HeapSnapshot, l: Layout, e: number): string {
  const type = l.edgeTypes[s.edges[e + l.edgeType] ?? -1] ?? '';
  const raw = s.edges[e + l.edgeName] ?? 0;
  if (type === 'element' || type === 'hidden') return `[${raw}] →`;
  const name = s.strings[raw] ?? String(raw);
  return type === 'property' || type === 'shortcut' ? `.${name} →` : `-(${type} ${name})→`;
}

/** The first index whose value is greater than `v` (firstEdge is non-decreasing). */
function upperBound(xs: Uint32Array, v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] ?? 0) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
