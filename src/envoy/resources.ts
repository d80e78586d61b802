/**
 * Envoy resources as translation produces them and the snapshot cache takes them: a name, the
 * message, and the source objects that produced it. The contract between translate and xds, so it
 * lives below both.
 */
import type { ObjectRef } from '../diagnostics.js';
import type { ResourceKind, ResourceMessage } from './types.js';

export interface DesiredResource<K extends ResourceKind> {
  readonly name: string;
  readonly message: ResourceMessage<K>;
  /** The source objects that produced it (Service default/greeter): a NACK is traced back to them. */
  readonly sources?: readonly ObjectRef[];
}

/** Every resource kind, each list sorted by name: what a translation of one proxy class produces. */
export type TranslatedResources = { readonly [K in ResourceKind]: readonly DesiredResource<K>[] };

/** The parts each joined list was made of (joinSorted), by the list. */
const partsOfList = new WeakMap<object, readonly (readonly DesiredResource<ResourceKind>[])[]>();

/**
 * Lists sorted by name, as one sorted list (stable: an earlier part first on equal names) that
 * remembers its parts: a part handed to many proxy classes (the outbound clusters every sidecar
 * gets) is then held once by the snapshot cache, not copied into every class's.
 */
export function joinSorted<K extends ResourceKind>(parts: readonly (readonly DesiredResource<K>[])[]): readonly DesiredResource<K>[] {
  let joined: DesiredResource<K>[] = [];
  for (const part of parts) joined = merge(joined, part);
  partsOfList.set(joined, parts);
  return joined;
}

function merge<T extends { readonly name: string }>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as T;
    const y = b[j] as T;
    if (y.name < x.name) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
    }
  }
  for (; i < a.length; i++) out.push(a[i] as T);
  for (; j < b.length; j++) out.push(b[j] as T);
  return out;
}

/** The parts a list was joined from (joinSorted), if it was. */
export function partsOf<K extends ResourceKind>(list: Iterable<DesiredResource<K>>): readonly (readonly DesiredResource<K>[])[] | undefined {
  return partsOfList.get(list) as readonly (readonly DesiredResource<K>[])[] | undefined;
}
