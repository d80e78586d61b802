/**
 * translateSidecar(model, proxy): everything one Envoy sidecar receives, in Istio's shape.
 *
 *   clusters   outbound|<port>||<hostname> per service port (clusters.ts), inbound|<port>|| per
 *              workload port, PassthroughCluster, InboundPassthroughCluster
 *   endpoints  one ClusterLoadAssignment per outbound EDS cluster (endpoints.ts); with priorities
 *              by the sidecar's locality where the port's policy is locality-aware
 *   listeners  virtualOutbound, 0.0.0.0_<port> per HTTP port, <clusterIP>_<port> per TCP service
 *              port (listeners.ts), virtualInbound (listeners-inbound.ts)
 *   routes     <port> per HTTP port (routes.ts)
 *
 * What is shared is computed once and handed out as the same objects: the outbound resources per
 * model (sidecar-outbound.ts), the routes per (model, namespace) — short names resolve in the
 * proxy's namespace — the inbound resources per (model, namespace, pod), and the endpoints per
 * (model, proxy locality) when some service port is locality-aware (policy/locality.ts): a
 * thousand sidecars in three zones cost three computations. Every other assignment, and every
 * assignment of a sidecar without a locality, is the shared one.
 */
import type { Diagnostic } from '../diagnostics.js';
import type { Locality, MeshModel } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inbound, type Inbound } from './listeners-inbound.js';
import type { ProxyDescriptor } from './proxy.js';
import { outboundRoutes } from './routes.js';
import { sidecarOutbound } from './sidecar-outbound.js';
import { localityKey } from './endpoints.js';
import { noLocalityNotes, withLocality } from './policy/locality.js';
import { byName, cached, perModel, sortErrors, type Translation } from './translation.js';

interface Routes {
  readonly routes: readonly DesiredResource<'route'>[];
  readonly errors: readonly Diagnostic[];
}

interface ModelMemo {
  readonly routes: Map<string, Routes>;
  readonly inbound: Map<string, Inbound>;
  /** By proxy locality (localityKey). */
  readonly endpoints: Map<string, readonly DesiredResource<'endpoint'>[]>;
}

const memoFor = perModel((): ModelMemo => ({ routes: new Map(), inbound: new Map(), endpoints: new Map() }));

function routesFor(model: MeshModel, namespace: string): Routes {
  return cached(memoFor(model).routes, namespace, () => {
    const outbound = sidecarOutbound(model);
    return outboundRoutes(outbound.httpPorts, namespace, outbound.ipTaken);
  });
}

function inboundFor(model: MeshModel, namespace: string, pod: string | undefined): Inbound {
  return cached(memoFor(model).inbound, JSON.stringify([namespace, pod ?? null]), () => {
    const workload = pod === undefined ? undefined : model.workloads.find((w) => w.namespace === namespace && w.name === pod);
    return inbound(workload, model.services);
  });
}

/** The assignments a sidecar in `locality` receives (the shared ones when none is locality-aware). */
function endpointsFor(model: MeshModel, locality: Locality | undefined): readonly DesiredResource<'endpoint'>[] {
  const outbound = sidecarOutbound(model);
  if (!locality || outbound.localityAware.size === 0) return outbound.endpoints;
  return cached(memoFor(model).endpoints, localityKey(locality), () => withLocality(outbound.endpoints, outbound.localityAware, locality));
}

/** The resources of one sidecar proxy class (a pod in a namespace), and what could not be translated. */
export function translateSidecar(model: MeshModel, proxy: ProxyDescriptor & { mode: 'sidecar' }): Translation {
  const outbound = sidecarOutbound(model);
  const routes = routesFor(model, proxy.namespace);
  const inb = inboundFor(model, proxy.namespace, proxy.pod);
  return {
    resources: {
      cluster: byName([...outbound.clusters, ...inb.clusters]),
      endpoint: [...endpointsFor(model, proxy.locality)],
      listener: byName([...outbound.listeners, inb.listener]),
      route: [...routes.routes],
      secret: [],
    },
    diagnostics: sortErrors([...outbound.errors, ...routes.errors, ...inb.errors, ...(proxy.locality ? [] : noLocalityNotes(outbound.localityAware))]),
  };
}
