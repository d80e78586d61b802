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
import type { Locality, MeshModel, ModelWorkload } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inbound, type Inbound } from './listeners-inbound.js';
import type { ProxyDescriptor } from './proxy.js';
import { outboundRoutes } from './routes.js';
import { sidecarOutbound } from './sidecar-outbound.js';
import { localityKey } from './endpoints.js';
import { noLocalityNotes, withLocality } from './policy/locality.js';
import { byName, Memo, perModel, sortErrors, type Translation } from './translation.js';

interface Routes {
  readonly routes: readonly DesiredResource<'route'>[];
  readonly errors: readonly Diagnostic[];
}

interface ModelMemo {
  /** By namespace. */
  readonly routes: Memo<Routes>;
  /** The workloads of the model, by `namespace/name`. */
  readonly workloads: ReadonlyMap<string, ModelWorkload>;
  /** By workload (`namespace/name`), and '' for a proxy whose pod the model does not have. */
  readonly inbound: Memo<Inbound>;
  /** By proxy locality (localityKey). */
  readonly endpoints: Memo<readonly DesiredResource<'endpoint'>[]>;
}

const memoFor = perModel((model): ModelMemo => ({
  routes: new Memo(),
  workloads: new Map(model.workloads.map((w) => [`${w.namespace}/${w.name}`, w])),
  inbound: new Memo(),
  endpoints: new Memo(),
}));

function routesFor(model: MeshModel, namespace: string): Routes {
  return memoFor(model).routes.get(namespace, () => {
    const outbound = sidecarOutbound(model);
    return outboundRoutes(outbound.httpPorts, namespace, outbound.ipTaken);
  });
}

/** Keyed by the workload found, not by the pod name a proxy gave: every proxy of a pod the model lacks shares one. */
function inboundFor(model: MeshModel, namespace: string, pod: string | undefined): Inbound {
  const memo = memoFor(model);
  const key = pod === undefined ? '' : `${namespace}/${pod}`;
  const workload = memo.workloads.get(key);
  return memo.inbound.get(workload === undefined ? '' : key, () => inbound(workload, model.services, model));
}

/** The assignments a sidecar in `locality` receives (the shared ones when none is locality-aware). */
function endpointsFor(model: MeshModel, locality: Locality | undefined): readonly DesiredResource<'endpoint'>[] {
  const outbound = sidecarOutbound(model);
  if (!locality || outbound.localityAware.size === 0) return outbound.endpoints;
  return memoFor(model).endpoints.get(localityKey(locality), () => withLocality(outbound.endpoints, outbound.localityAware, locality));
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
