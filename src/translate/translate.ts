/**
 * translate(model, proxy): the Envoy resources of one proxy class. Dispatches on the proxy's mode;
 * both translators memoise what does not depend on the proxy, per model.
 */
import type { MeshModel } from '../model/types.js';
import type { ProxyDescriptor } from './proxy.js';
import { translateProxyless } from './proxyless.js';
import { sidecarOutbound } from './sidecar-outbound.js';
import { namespaceRoutes, sharedRoutes, translateSidecar } from './sidecar.js';

export { namespaceRoutes };
import type { TranslatedResources } from '../envoy/resources.js';
import type { Translation } from './translation.js';

export function translate(model: MeshModel, proxy: ProxyDescriptor): Translation {
  return proxy.mode === 'sidecar' ? translateSidecar(model, { ...proxy, mode: 'sidecar' }) : translateProxyless(model, { ...proxy, mode: 'proxyless' });
}

/**
 * The lists every sidecar is given whatever its pod (the outbound clusters, listeners, and the
 * assignments of a sidecar without a locality), and the routes of a namespace without services,
 * whose virtual hosts every namespace's routes share but those of its own services: what the
 * snapshot cache can encode before the first sidecar asks.
 */
export function sharedSidecarResources(model: MeshModel): Partial<TranslatedResources> {
  const outbound = sidecarOutbound(model);
  return { cluster: outbound.clusters, endpoint: outbound.endpoints, listener: outbound.listeners, route: sharedRoutes(model) };
}
