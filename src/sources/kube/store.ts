/**
 * One informer's objects, validated. Each entry is the last good version of an object (what is
 * served) and the problems of its current version: an object that turns invalid keeps serving its
 * last good version, as in the manifests source. A relist builds a whole new map and swaps it in
 * when the list is complete, so nothing is ever missing in between; what the new list lacks is gone
 * then, because it was really deleted.
 */
import { diagnostic, refOf, type Diagnostic } from '../../diagnostics.js';
import type { KindSpec } from './kinds.js';

export interface Entry {
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  /** The last good version; undefined when the object has never been valid. */
  readonly value?: unknown;
  readonly problems: readonly Diagnostic[];
}

type Rec = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON-like values; a property set to undefined counts as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isRecord(a) || !isRecord(b) || Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

/** The value without the fields (`status`, `metadata.resourceVersion`) whose changes alone do not count. */
function comparable(value: unknown, ignored: readonly string[]): unknown {
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const path of ignored) {
    const [top, sub] = path.split('.') as [string, string | undefined];
    const inner = out[top];
    if (sub === undefined) delete out[top];
    else if (isRecord(inner)) out[top] = { ...inner, [sub]: undefined };
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function resourceVersionOf(value: unknown): string {
  const meta = isRecord(value) && isRecord(value.metadata) ? value.metadata : {};
  return str(meta.resourceVersion) ?? '?';
}

export class ObjectCache {
  private entries = new Map<string, Entry>();

  constructor(private readonly spec: KindSpec) {}

  get size(): number {
    return this.entries.size;
  }

  values(): IterableIterator<Entry> {
    return this.entries.values();
  }

  /** The entry of one object ('' namespace for cluster-scoped kinds). */
  get(namespace: string, name: string): Entry | undefined {
    return this.entries.get(`${namespace}/${name}`);
  }

  /** `namespace/name` of a raw object, or undefined when it has no name. */
  keyOf(raw: Rec): { key: string; namespace: string; name: string } | undefined {
    const meta = isRecord(raw.metadata) ? raw.metadata : {};
    const name = str(meta.name);
    if (name === undefined) return undefined;
    const namespace = this.spec.namespaced ? (str(meta.namespace) ?? '') : '';
    return { key: `${namespace}/${name}`, namespace, name };
  }

  /** Validates a raw object into an entry, keeping the previous entry's good version when it is invalid. */
  private entryFor(raw: Rec, previous: Entry | undefined): { key: string; entry: Entry } | undefined {
    const id = this.keyOf(raw);
    if (!id) return undefined;
    const { key, namespace, name } = id;
    const parsed = this.spec.parse(raw);
    if (parsed.ok) return { key, entry: { namespace, name, value: parsed.value, problems: [] } };
    const object = refOf(this.spec.kind, { name, namespace });
    const problems: Diagnostic[] = [diagnostic('error', object, parsed.field, parsed.message)];
    if (previous?.value !== undefined) {
      problems.push({ severity: 'warning', object, message: `kept serving the last good version (resourceVersion ${resourceVersionOf(previous.value)})` });
    }
    return { key, entry: { namespace, name, value: previous?.value, problems } };
  }

  private same(a: Entry | undefined, b: Entry | undefined): boolean {
    if (!a || !b) return a === b;
    const ignored = this.spec.ignoredInComparison;
    return deepEqual(a.problems, b.problems) && deepEqual(comparable(a.value, ignored), comparable(b.value, ignored));
  }

  /**
   * An object added or modified. The newest version is always stored; the answer says whether what is
   * served or reported changed (a new resourceVersion alone, or a TrafficPolicy's status, is no change).
   */
  upsert(raw: Rec): boolean {
    const id = this.keyOf(raw);
    if (!id) return false;
    const previous = this.entries.get(id.key);
    const next = this.entryFor(raw, previous);
    if (!next) return false;
    this.entries.set(next.key, next.entry);
    return !this.same(previous, next.entry);
  }

  remove(raw: Rec): boolean {
    const id = this.keyOf(raw);
    return id !== undefined && this.entries.delete(id.key);
  }

  /** Starts a relist: add every listed object, then commit to swap the whole map at once. */
  beginReplace(): Replacement {
    return new Replacement(this);
  }

  /** @internal for Replacement */
  swap(next: Map<string, Entry>): boolean {
    const previous = this.entries;
    this.entries = next;
    if (previous.size !== next.size) return true;
    for (const [key, entry] of next) if (!this.same(previous.get(key), entry)) return true;
    return false;
  }

  /** @internal for Replacement */
  validate(raw: Rec): { key: string; entry: Entry } | undefined {
    const id = this.keyOf(raw);
    return id && this.entryFor(raw, this.entries.get(id.key));
  }
}

/** A relist in progress: the new objects, collected aside; the cache is untouched until `commit`. */
export class Replacement {
  private readonly next = new Map<string, Entry>();

  constructor(private readonly cache: ObjectCache) {}

  add(raw: Rec): void {
    const validated = this.cache.validate(raw);
    if (validated) this.next.set(validated.key, validated.entry);
  }

  /** Swaps the new objects in; says whether anything served or reported changed. */
  commit(): boolean {
    return this.cache.swap(this.next);
  }
}
