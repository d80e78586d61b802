/**
 * The lookup route translation needs in the model (the services by name, to find a backend port's own policy), built
 * once per model and shared by sidecars and proxyless clients.
 */
import type { MeshModel, ModelService } from '../../model/types.js';
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
