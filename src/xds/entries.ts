/**
 * One kind's resources as a snapshot holds them, and what changed between two such sets: the
 * entries of a plain list (a Map), or of a list joined from parts read through (JoinedEntries).
 */
import { compareText } from '../diagnostics.js';
import type { ResourceEntry } from './resource.js';

/** Resources by name, iterated in name order: a Map, or a joined snapshot's parts read through. */
export interface Entries {
  readonly size: number;
  get(name: string): ResourceEntry | undefined;
  has(name: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<ResourceEntry>;
  [Symbol.iterator](): IterableIterator<[string, ResourceEntry]>;
}

/** One kind's resources in a snapshot, sorted by name, with the digest of the whole set. */
export interface KindSnapshot {
  readonly entries: Entries;
  /** Order-independent digest of all entries: the version of the whole set. */
  readonly version: string;
}

/** Names: a Set, or every name of a snapshot read through (a class's first snapshot). */
export interface Names extends Iterable<string> {
  readonly size: number;
  has(name: string): boolean;
}

export interface KindChange {
  readonly updated: Names;
  readonly removed: Names;
}

export const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * The entries of disjoint parts, read through (nothing copied), iterated in name order: a joined
 * snapshot costs each proxy class its parts, not its resources.
 */
export class JoinedEntries implements Entries {
  readonly size: number;

  private constructor(readonly parts: readonly Entries[]) {
    this.size = parts.reduce((n, p) => n + p.size, 0);
  }

  /** The parts' entries as one; undefined when a name is in two parts. */
  static of(parts: readonly Entries[]): JoinedEntries | undefined {
    const largest = parts.reduce((a, b) => (b.size > a.size ? b : a), parts[0] ?? new Map<string, ResourceEntry>());
    for (const part of parts) {
      if (part === largest) continue;
      for (const name of part.keys()) if (parts.some((other) => other !== part && other.has(name))) return undefined;
    }
    return new JoinedEntries(parts);
  }

  get(name: string): ResourceEntry | undefined {
    for (const part of this.parts) {
      const e = part.get(name);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.parts.some((p) => p.has(name));
  }

  *[Symbol.iterator](): IterableIterator<[string, ResourceEntry]> {
    const heads = this.parts.map((p) => p[Symbol.iterator]());
    const current = heads.map((h) => h.next());
    for (;;) {
      let min = -1;
      for (let i = 0; i < current.length; i++) {
        const c = current[i] as IteratorResult<[string, ResourceEntry]>;
        if (c.done !== true && (min < 0 || c.value[0] < (current[min] as IteratorYieldResult<[string, ResourceEntry]>).value[0])) min = i;
      }
      if (min < 0) return;
      yield (current[min] as IteratorYieldResult<[string, ResourceEntry]>).value;
      current[min] = (heads[min] as Iterator<[string, ResourceEntry]>).next();
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this) yield name;
  }

  *values(): IterableIterator<ResourceEntry> {
    for (const [, entry] of this) yield entry;
  }
}

export function sortedByName(entries: readonly ResourceEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (compareText((entries[i - 1] as ResourceEntry).name, (entries[i] as ResourceEntry).name) > 0) return false;
  return true;
}

/** What changed between two joined snapshots' corresponding parts, by the pair: shared parts are compared once. */
const partChanges = new WeakMap<Entries, WeakMap<Entries, KindChange>>();

export function diff(before: KindSnapshot, after: KindSnapshot): KindChange {
  const [b, a] = [before.entries, after.entries];
  if (b instanceof JoinedEntries && a instanceof JoinedEntries && b.parts.length === a.parts.length) {
    const updated = new Set<string>();
    const removed = new Set<string>();
    a.parts.forEach((part, i) => {
      const was = b.parts[i] as Entries;
      let known = partChanges.get(was);
      if (known === undefined) {
        known = new WeakMap();
        partChanges.set(was, known);
      }
      let change = known.get(part);
      if (change === undefined) {
        change = diffEntries(was, part);
        known.set(part, change);
      }
      for (const name of change.updated) updated.add(name);
      for (const name of change.removed) removed.add(name);
    });
    // A name that moved from one part to another is updated, not removed.
    for (const name of removed) if (a.has(name)) removed.delete(name);
    for (const name of updated) if (b.get(name) === a.get(name)) updated.delete(name);
    return { updated, removed };
  }
  return diffEntries(b, a);
}

export function diffEntries(before: Entries, after: Entries): KindChange {
  // Everything is new: the names are the snapshot's own, read through rather than copied.
  if (before.size === 0) return { updated: { size: after.size, has: (name) => after.has(name), [Symbol.iterator]: () => after.keys() }, removed: NO_NAMES };
  const updated = new Set<string>();
  const removed = new Set<string>();
  for (const [name, entry] of unordered(after)) {
    if (before.get(name) !== entry) updated.add(name);
  }
  if (before.size > 0) {
    for (const [name] of unordered(before)) {
      if (!after.has(name)) removed.add(name);
    }
  }
  return { updated, removed };
}

/** Every entry, in no particular order (a joined snapshot's part after part). */
export function* unordered(entries: Entries): IterableIterator<[string, ResourceEntry]> {
  if (entries instanceof JoinedEntries) for (const part of entries.parts) yield* unordered(part);
  else yield* entries;
}
