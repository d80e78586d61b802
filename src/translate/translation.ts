/**
 * What a translation produces: the Envoy resources of one proxy class, and the errors met on the
 * way. Translation is best-effort: an object that cannot be translated becomes an error naming the
 * object and field, and everything else is still produced.
 */
import { diagnostic, diagnosticKey, formatRef, type Diagnostic, type ObjectRef } from '../diagnostics.js';
import type { TranslatedResources } from '../envoy/resources.js';
import type { MeshModel } from '../model/types.js';

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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts resources (or anything named) by name, by code unit: the same on every machine and locale. */
export function byName<T extends { readonly name?: string | undefined }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compare(a.name ?? '', b.name ?? ''));
}

/** Sorted, without duplicates. */
export function sortedUnique(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compare);
}

/** Diagnostics in a stable order (object, field, message), without duplicates. */
export function sortErrors(list: Iterable<Diagnostic>): Diagnostic[] {
  const seen = new Map<string, Diagnostic>();
  for (const d of list) seen.set(JSON.stringify([d.object ? formatRef(d.object) : '', d.field ?? '', d.message, diagnosticKey(d)]), d);
  return [...seen.entries()].sort(([a], [b]) => compare(a, b)).map(([, d]) => d);
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

/** The value of `key` in `map`, made on first use. */
export function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * `make` computed once per model: what does not depend on the proxy is built on first use and the
 * very same object handed to every proxy class after (the snapshot cache recognises it by identity).
 */
export function perModel<T>(make: (model: MeshModel) => T): (model: MeshModel) => T {
  const memo = new WeakMap<MeshModel, T>();
  return (model) => {
    let value = memo.get(model);
    if (value === undefined) {
      value = make(model);
      memo.set(model, value);
    }
    return value;
  };
}
