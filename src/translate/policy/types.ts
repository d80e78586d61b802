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
