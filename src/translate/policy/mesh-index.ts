/**
 * The lookup route translation needs in the model (the services by name, to find a backend port's own policy), built
 * once per model and shared by sidecars and proxyless clients.
 */
import type { MeshModel, ModelService, ModelWorkload } from '../../model/types.js';
import { perModel } from '../translation.js';
import type { MeshIndex } from './types.js';

/** The index of these services. */
export function indexOf(services: readonly ModelService[]): MeshIndex {
  const byName = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  return {
    service: (namespace, name) => byName.get(`${namespace}/${name}`),
  };
}

/** The index of one model: computed on first use, then the same object. */
export const meshIndex: (model: MeshModel) => MeshIndex = perModel((model) => indexOf(model.services));

/** A model's services and workloads by namespace, each in model order. */
export interface NamespaceIndex {
  readonly services: ReadonlyMap<string, readonly ModelService[]>;
  readonly workloads: ReadonlyMap<string, readonly ModelWorkload[]>;
}

function groupByNamespace<T extends { readonly namespace: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.namespace);
    if (list) list.push(item);
    else out.set(item.namespace, [item]);
  }
  return out;
}

/** The namespace index of one model: computed on first use, then the same object. */
export const namespaceIndex: (model: MeshModel) => NamespaceIndex = perModel((model) => ({
  services: groupByNamespace(model.services),
  workloads: groupByNamespace(model.workloads),
}));
