/**
 * What a translation produces: the Envoy resources of one proxy class, and the errors met on the
 * way. Translation is best-effort: an object that cannot be translated becomes an error naming the
 * object and field, and everything else is still produced.
 */
import { compareText, diagnostic, diagnosticKey, formatRef, type Diagnostic, type ObjectRef } from '../diagnostics.js';
import type { DesiredResource, TranslatedResources } from '../envoy/resources.js';
import type { ResourceKind } from '../envoy/types.js';
import type { MeshModel } from '../model/types.js';
import { textOf } from '../model/share.js';

/**
 * What translation says about an object: an error when something asked for cannot be produced; a
 * warning for a note that changes nothing the user asked of the proxies that can do it (proxyless
 * gRPC lacking a feature Envoy has).
 */
export function translationError(object: ObjectRef, field: string | undefined, message: string): Diagnostic {
  return diagnostic('error', object, field, message);
}

export function translationWarning(object: ObjectRef, field: string | undefined, message: string): Diagnostic {
  return diagnostic('warning', object, field, message);
}

export interface Translation {
  resources: TranslatedResources;
  /** What translation found: errors and warnings, by object and field. */
  diagnostics: Diagnostic[];
}

/** Sorts resources (or anything named) by name, by code unit: the same on every machine and locale. */
export function byName<T extends { readonly name?: string | undefined }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compareText(a.name ?? '', b.name ?? ''));
}

/** Sorted, without duplicates. */
export function sortedUnique(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareText);
}

/** Diagnostics in a stable order (object, field, message), without duplicates. */
export function sortErrors(list: Iterable<Diagnostic>): Diagnostic[] {
  const seen = new Map<string, Diagnostic>();
  for (const d of list) seen.set(JSON.stringify([d.object ? formatRef(d.object) : '', d.field ?? '', d.message, diagnosticKey(d)]), d);
  return [...seen.entries()].sort(([a], [b]) => compareText(a, b)).map(([, d]) => d);
}

/**
 * Runs the translation of one object; an unexpected exception becomes an error about that object
 * instead of ending the whole translation.
 */
export function guarded(object: ObjectRef, errors: Diagnostic[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    errors.push(translationError(object, undefined, `internal error while translating: ${(err as Error).message}`));
  }
}

/** How many results a {@link Memo} keeps. */
export const MEMO_LIMIT = 1024;

/**
 * Results shared by the proxy classes of one model, by a key the proxy chose (its namespace, its
 * locality): made on first use, at most `limit` kept, the least recently used dropped first, so that
 * proxies coming and going with made-up keys cannot grow it without bound. A dropped result is made
 * again when asked for (equal content: the snapshot cache shares it by content key).
 */
export class Memo<T> {
  private readonly map = new Map<string, T>();

  constructor(private readonly limit = MEMO_LIMIT) {}

  get(key: string, make: () => T): T {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.map.delete(key); // most recently used last
      this.map.set(key, hit);
      return hit;
    }
    const value = make();
    this.map.set(key, value);
    if (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * `make` computed once per model: what does not depend on the proxy is built on first use and the
 * very same object handed to every proxy class after (the snapshot cache recognises it by identity).
 */
export function perModel<T>(make: (model: MeshModel) => T): (model: MeshModel) => T {
  return perObject(make);
}

/** `make` computed once per object (held as long as the object is). */
export function perObject<K extends object, T>(make: (key: K) => T): (key: K) => T {
  const memo = new WeakMap<K, T>();
  return (key) => {
    let value = memo.get(key);
    if (value === undefined) {
      value = make(key);
      memo.set(key, value);
    }
    return value;
  };
}

/**
 * `make(list)` again only when `list` holds other elements than the last list given (a model shares
 * its unchanged entries with the model before, so most changes leave e.g. the workloads as they
 * were); else the last result.
 */
export function perElements<E, T>(make: (list: readonly E[]) => T): (list: readonly E[]) => T {
  let last: { readonly list: readonly E[]; readonly value: T } | undefined;
  return (list) => {
    if (last === undefined || !sameElements(last.list, list)) last = { list, value: make(list) };
    return last.value;
  };
}

/** True when both lists hold the very same objects in the same order. */
export function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameResource<K extends ResourceKind>(a: DesiredResource<K>, b: DesiredResource<K>): boolean {
  if (a === b) return true;
  const sa = a.sources ?? [];
  const sb = b.sources ?? [];
  return (
    a.name === b.name &&
    sa.length === sb.length &&
    sa.every((s, i) => formatRef(s) === formatRef(sb[i] as ObjectRef)) &&
    textOf(a.message) === textOf(b.message)
  );
}

/**
 * `next` with every resource equal in content to `previous`'s resource of the same name replaced by
 * that very object, and `previous` itself when that makes every element the same: what is computed
 * from it (a proxy class's lists, the snapshot cache's entries) is then found again by identity,
 * not rebuilt and hashed per proxy class.
 */
export function keepEqual<K extends ResourceKind>(
  next: readonly DesiredResource<K>[],
  previous: readonly DesiredResource<K>[] | undefined,
): readonly DesiredResource<K>[] {
  if (previous === undefined || previous === next) return next;
  if (sameElements(next, previous)) return previous;
  // Usually the names line up (a change swaps a few resources in place): then no index is needed.
  const aligned = next.length === previous.length && next.every((r, i) => r === previous[i] || r.name === previous[i]?.name);
  let before: Map<string, DesiredResource<K>> | undefined;
  const lastOf = (r: DesiredResource<K>, i: number) => (aligned ? previous[i] : (before ??= new Map(previous.map((p) => [p.name, p]))).get(r.name));
  let same = next.length === previous.length;
  const kept = next.map((r, i) => {
    const last = lastOf(r, i);
    const keep = last !== undefined && sameResource(last, r) ? last : r;
    if (keep !== previous[i]) same = false;
    return keep;
  });
  return same ? previous : kept;
}

/**
 * `make(a, b)` once per pair of objects (lists a translation joins per proxy class from shared
 * parts): the same pair gives the very same result, which the snapshot cache then skips.
 */
export function perPair<A extends object, B extends object, T>(make: (a: A, b: B) => T): (a: A, b: B) => T {
  const memo = new WeakMap<A, WeakMap<B, T>>();
  return (a, b) => {
    let inner = memo.get(a);
    if (inner === undefined) {
      inner = new WeakMap();
      memo.set(a, inner);
    }
    let value = inner.get(b);
    if (value === undefined) {
      value = make(a, b);
      inner.set(b, value);
    }
    return value;
  };
}
