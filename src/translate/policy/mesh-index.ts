/**
 * The lookups route translation needs in the model (services by name, pod labels by pod), built
 * once per model and shared by sidecars and proxyless clients.
 */
import type { MeshModel, ModelService, ModelWorkload } from '../../model/types.js';
import type { MeshIndex } from './types.js';

const memo = new WeakMap<MeshModel, MeshIndex>();

/** The index of these services and workloads. */
export function indexOf(services: readonly ModelService[], workloads: readonly ModelWorkload[]): MeshIndex {
  const byName = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const pods = new Map(workloads.map((w) => [`${w.namespace}/${w.name}`, w.labels]));
  return {
    service: (namespace, name) => byName.get(`${namespace}/${name}`),
    podLabels: (pod) => pods.get(pod),
  };
}

/** The index of one model: computed on first use, then the same object. */
export function meshIndex(model: MeshModel): MeshIndex {
  let index = memo.get(model);
  if (!index) {
    index = indexOf(model.services, model.workloads);
    memo.set(model, index);
  }
  return index;
}
