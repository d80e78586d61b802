/**
 * What a translation produces: the Envoy resources of one proxy class, and the errors met on the
 * way. Translation is best-effort: an object that cannot be translated becomes an error naming the
 * object and field, and everything else is still produced.
 */
import type { TranslatedResources } from '../envoy/resources.js';
import type { Problem } from '../model/problems.js';
import type { MeshModel } from '../model/types.js';

export interface TranslationError {
  /** `Kind namespace/name`, e.g. `Service default/web`. */
  object: string;
  /** Dotted path inside the object, e.g. `spec.ports[1]`, when the error is about one field. */
  field?: string;
  message: string;
  /**
   * 'warning': a note that changes nothing the user asked of the proxies that can do it (proxyless
   * gRPC lacking a feature Envoy has). Absent: an error.
   */
  severity?: 'warning';
}

export interface Translation {
  resources: TranslatedResources;
  errors: TranslationError[];
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

/** Errors in a stable order (object, field, message), without duplicates. */
export function sortErrors(errors: Iterable<TranslationError>): TranslationError[] {
  const seen = new Map<string, TranslationError>();
  for (const e of errors) seen.set(JSON.stringify([e.object, e.field ?? '', e.message]), e);
  return [...seen.entries()].sort(([a], [b]) => compare(a, b)).map(([, e]) => e);
}

/**
 * Runs the translation of one object; an unexpected exception becomes an error about that object
 * instead of ending the whole translation.
 */
export function guarded(object: string, errors: TranslationError[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    errors.push({ object, message: `internal error while translating: ${(err as Error).message}` });
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

/** A translation error as a problem (logs, /debug/configz, `trellis render`). */
export function translationProblem(e: TranslationError): Problem {
  return { severity: e.severity ?? 'error', object: e.object, ...(e.field ? { field: e.field } : {}), message: e.message };
}
