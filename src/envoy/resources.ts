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
