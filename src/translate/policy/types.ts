/**
 * What every TrafficPolicy translator shares. A policy section is translated for two kinds of
 * proxy: Envoy sidecars, and proxyless gRPC (which implements only part of Envoy's API; a setting
 * it lacks becomes a warning on the policy, never a resource gRPC would reject).
 */
import type { ModelService, ModelServicePort } from '../../model/types.js';

export type ProxyTarget = 'sidecar' | 'proxyless';

/** The service port whose resources are being built, and for whom. */
export interface PortContext {
  readonly service: ModelService;
  readonly port: ModelServicePort;
  readonly target: ProxyTarget;
}

/**
 * What route translation looks up in the rest of the mesh: the services a policy's backends and
 * mirrors name (in the policy's namespace), and the labels of the pods behind endpoints (subsets).
 */
export interface MeshIndex {
  /** The service `namespace/name`, if the model has it. */
  service(namespace: string, name: string): ModelService | undefined;
}

/** A service port's context for its routes, which may send traffic to other services of the mesh. */
export interface RouteContext extends PortContext {
  readonly mesh: MeshIndex;
}
