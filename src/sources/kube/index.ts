/**
 * The Kubernetes source: informers over a live cluster, producing the same MeshInputs as the
 * manifests source. See source.ts for the whole, reflector.ts for list/watch semantics.
 */
export { loadKubeConfig } from './kubeconfig.js';
export { KUBE_RBAC_RULES } from './rbac.js';
export {
  CRD_MISSING,
  NODES_FORBIDDEN,
  startKubeSource,
  type KubeSource,
  type KubeSourceOptions,
  type KubeSourceState,
  type KubeSourceStats,
} from './source.js';
export type { ReflectorStats } from './reflector.js';
