/**
 * Where the parts of a YAML document are: the 1-based line and column of a field, found from its
 * path (`['spec', 'ports', 0, 'port']`) in the document's nodes, as `Origin.line` and `.column` hold
 * them. A field that is not there (a required one left out) is placed at the nearest part of its
 * path that is.
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export interface Positions {
  /** The position of the field at `path` (of its key, for a field of a mapping), or of the nearest part of the path there is. */
  at(path: readonly PropertyKey[]): Position | undefined;
  /** The positions inside the node at `path` (an item of a List), paths then starting from it. */
  within(path: readonly PropertyKey[]): Positions;
}

export const NO_POSITIONS: Positions = { at: () => undefined, within: () => NO_POSITIONS };

/**
 * The node at the end of `path` (`found`), or the last one on the way there; and the offset of the
 * last step found (a mapping key, or a sequence item).
 */
function walk(root: unknown, path: readonly PropertyKey[]): { node: unknown; found: boolean; offset: number | undefined } {
  let node = root;
  let steps = 0;
  let offset = isNode(root) ? root.range?.[0] : undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (isNode(pair.key)) offset = pair.key.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
    steps++;
  }
  return { node, found: steps === path.length, offset };
}

/** The positions in a document whose root node is `root`, its lines counted by `lines`. */
export function positionsOf(root: unknown, lines: LineCounter): Positions {
  if (!isNode(root)) return NO_POSITIONS;
  return {
    at(path) {
      const { offset } = walk(root, path);
      if (offset === undefined) return undefined;
      const { line, col } = lines.linePos(offset);
      return { line, column: col };
    },
    within(path) {
      const { node, found } = walk(root, path);
      return found ? positionsOf(node, lines) : NO_POSITIONS;
    },
  };
}

/** A field path as formatPath writes it (`spec.ports[0].port`, `labels["app.kubernetes.io/name"]`), as segments; as far as it reads. */
export function parseFieldPath(field: string): PropertyKey[] {
  const segments: PropertyKey[] = [];
  const token = /(?:^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  for (let m = token.exec(field); m !== null; m = token.exec(field)) {
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else if (m[3] !== undefined) segments.push(String(JSON.parse(m[3])));
    if (token.lastIndex === field.length) break;
  }
  return segments;
}

/** The positions in each document of a file's text; none in a List (whose objects are its items) or a document that does not parse. */
export function documentPositions(text: string): Positions[] {
  const lineCounter = new LineCounter();
  return parseAllDocuments(text, { lineCounter }).map((doc) => {
    const root = doc.contents;
    const isList = isMap(root) && isSeq(root.get('items', true)) && /List$/.test(String(root.get('kind')));
    return doc.errors.length > 0 || isList ? NO_POSITIONS : positionsOf(root, lineCounter);
  });
}
