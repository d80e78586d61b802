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
 * model (sidecar-outbound.ts), the routes per (outbound HTTP ports, namespace) — short names
 * resolve in the proxy's namespace — the inbound resources per workload, and the endpoints per
 * (model, proxy locality) when some service port is locality-aware (policy/locality.ts): a
 * thousand sidecars in three zones cost three computations. Every other assignment, and every
 * assignment of a sidecar without a locality, is the shared one.
 *
 * From one model to the next, what is equal is handed out again as the very objects made before,
 * down to the lists: the outbound lists (sidecar-outbound.ts), each namespace's routes (made again
 * only when the HTTP ports' services changed in what routing reads of them, routes.ts), each
 * workload's inbound (made again only when the workload or a service selecting it changed), and
 * each class's joined lists. An endpoint change then leaves every class's clusters, listeners and
 * routes the same lists, which the snapshot cache skips, and gives every class without a locality
 * one new assignment list, which it builds once for all of them (a scoped sidecar's reach its own,
 * which the cache steps from the reach's last: xds/cache.ts).
 */
import type { Diagnostic } from '../diagnostics.js';
import type { Locality, MeshModel, ModelService, ModelWorkload } from '../model/types.js';
import { joinSorted, type DesiredResource } from '../envoy/resources.js';
import { inbound, type Inbound } from './listeners-inbound.js';
import type { ProxyDescriptor } from './proxy.js';
import { outboundRoutes, type HttpPortServices } from './routes.js';
import { reachKey, scopedOutbound, sidecarOutbound, type SidecarOutbound } from './sidecar-outbound.js';
import { localityKey } from './endpoints.js';
import { noLocalityNotes, withLocality } from './policy/locality.js';
import { byName, keepEqual, Memo, perElements, perModel, perPair, sameElements, sortErrors, type Translation } from './translation.js';

interface Routes {
  readonly routes: readonly DesiredResource<'route'>[];
  readonly errors: readonly Diagnostic[];
}

interface ModelMemo {
  /** The workloads of the model, by `namespace/name`. */
  readonly workloads: ReadonlyMap<string, ModelWorkload>;
  /** The services of the model, by `namespace/name`. */
  readonly services: ReadonlyMap<string, ModelService>;
  /** By proxy locality (localityKey). */
  readonly endpoints: Memo<readonly DesiredResource<'endpoint'>[]>;
}

/** The workloads by `namespace/name`, made again only when some workload changed; then the inbound of gone ones is forgotten. */
const workloadIndex = perElements((list: readonly ModelWorkload[]) => {
  const workloads = new Map(list.map((w) => [`${w.namespace}/${w.name}`, w]));
  forgetGone(workloads);
  return workloads;
});
const serviceIndex = perElements((list: readonly ModelService[]) => new Map(list.map((s) => [`${s.namespace}/${s.name}`, s])));

const memoFor = perModel((model): ModelMemo => {
  return {
    workloads: workloadIndex(model.workloads),
    services: serviceIndex(model.services),
    endpoints: new Memo(),
  };
});

/**
 * What was last made for each namespace's routes and each workload's inbound, whatever the model:
 * made again only when what they are made of changed (the outbound HTTP ports, the workload and
 * the services selecting it), and then equal content is handed out as the objects made before.
 */
/** Routes and assignments kept per namespace or locality, and per reach (model/reachable.ts): many distinct reaches can be in use. */
const SCOPED_LIMIT = 16_384;
const lastRoutes = new Memo<{ made?: Routes }>(SCOPED_LIMIT);
/** By workload (`namespace/name`, '' for none): only workloads of the last model are kept. */
const lastInbound = new Map<
  string,
  { readonly workload: ModelWorkload | undefined; readonly services: readonly ModelService[]; readonly security: string; readonly inbound: Inbound }
>();

/** Forgets the inbound kept for workloads `model` does not have. */
function forgetGone(workloads: ReadonlyMap<string, ModelWorkload>): void {
  for (const key of lastInbound.keys()) if (key !== '' && !workloads.has(key)) lastInbound.delete(key);
}

/**
 * The routes made of an outbound's HTTP ports and taken IPs, by namespace: the outbound of a reach
 * (or every sidecar's) keeps both the very same objects from model to model while no service, port
 * or route of it changed, so a sidecar then finds its routes here without a key of its own.
 */
const routesOf = perPair((_httpPorts: readonly HttpPortServices[], _ipTaken: ReadonlySet<string>) => new Map<string, Routes>());

const lastEndpoints = new Memo<{ made?: readonly DesiredResource<'endpoint'>[] }>(SCOPED_LIMIT);

/**
 * The routes of a sidecar in `namespace` with `outbound` (every service's, or a reach's: `scope` is
 * then its key, model/reachable.ts): found by the outbound's ports (routesOf), else made, equal
 * routes handed out as the very objects last made for the namespace and reach.
 */
function routesFor(namespace: string, outbound: SidecarOutbound, scope = ''): Routes {
  const { httpPorts, ipTaken } = outbound;
  const byNamespace = routesOf(httpPorts, ipTaken);
  const found = byNamespace.get(namespace);
  if (found !== undefined) return found;
  const slot = lastRoutes.get(scope === '' ? namespace : `${scope}|${namespace}`, () => ({}));
  const made = outboundRoutes(httpPorts, namespace, ipTaken);
  const routes = { routes: keepEqual(made.routes, slot.made?.routes), errors: made.errors };
  slot.made = routes;
  byNamespace.set(namespace, routes);
  return routes;
}

/**
 * The routes of a namespace no service is in (no namespace is named ''): the virtual hosts in them
 * are those of every other namespace's routes but its own services', made and encoded once.
 */
export function sharedRoutes(model: MeshModel): readonly DesiredResource<'route'>[] {
  return routesFor('', sidecarOutbound(model)).routes;
}

/**
 * The routes of every namespace where some pod's sidecar is not scoped (model/reachable.ts): what
 * the first sidecar of such a namespace would otherwise make when it connects.
 */
export function namespaceRoutes(model: MeshModel): ReadonlyMap<string, readonly DesiredResource<'route'>[]> {
  return new Map(unscopedNamespaces(model.workloads).map((ns) => [ns, routesFor(ns, sidecarOutbound(model)).routes] as const));
}

/** The namespaces where some pod's sidecar is not scoped, sorted (looked at again only when some workload changed). */
const unscopedNamespaces = perElements((workloads: readonly ModelWorkload[]) =>
  [...new Set(workloads.flatMap((w) => (w.reachable ? [] : [w.namespace])))].sort(),
);

/** The services selecting a workload, in model order. */
function selecting(memo: ModelMemo, workload: ModelWorkload | undefined): ModelService[] {
  return workload ? workload.services.flatMap((key) => memo.services.get(key) ?? []) : [];
}

/** The workload of a proxy's pod, when the model has it. */
function workloadOf(model: MeshModel, namespace: string, pod: string | undefined): ModelWorkload | undefined {
  return pod === undefined ? undefined : memoFor(model).workloads.get(`${namespace}/${pod}`);
}

/** Keyed by the workload found, not by the pod name a proxy gave: every proxy of a pod the model lacks shares one. */
function inboundFor(model: MeshModel, namespace: string, pod: string | undefined): Inbound {
  const memo = memoFor(model);
  const key = pod === undefined ? '' : `${namespace}/${pod}`;
  const workload = memo.workloads.get(key);
  const found = workload === undefined ? '' : key;
  const services = selecting(memo, workload);
  const security = `${model.trustDomain}|${model.mtls?.defaultMode ?? ''}`;
  const held = lastInbound.get(found);
  if (held !== undefined && held.workload === workload && held.security === security && sameElements(held.services, services)) return held.inbound;
  const made = inbound(workload, services, model);
  const before = held?.inbound;
  const [listener = made.listener] = keepEqual([made.listener], before ? [before.listener] : undefined);
  const result = { listener, clusters: keepEqual(made.clusters, before?.clusters), errors: made.errors };
  lastInbound.set(found, { workload, services, security, inbound: result });
  return result;
}

/** The assignments a sidecar in `locality` receives of `outbound` (its own when none is locality-aware). */
function endpointsFor(model: MeshModel, outbound: SidecarOutbound, locality: Locality | undefined, scope = ''): readonly DesiredResource<'endpoint'>[] {
  if (!locality || outbound.localityAware.size === 0) return outbound.endpoints;
  const key = scope === '' ? localityKey(locality) : `${scope}|${localityKey(locality)}`;
  return memoFor(model).endpoints.get(key, () => {
    const slot = lastEndpoints.get(key, () => ({}));
    slot.made = keepEqual(withLocality(outbound.endpoints, outbound.localityAware, locality), slot.made);
    return slot.made;
  });
}

/** A sidecar's lists, joined from the shared parts and its inbound ones: the same parts give the very same list. */
const joinClusters = perPair((outbound: readonly DesiredResource<'cluster'>[], inb: readonly DesiredResource<'cluster'>[]) =>
  joinSorted([outbound, byName(inb)]),
);
const joinListeners = perPair((outbound: readonly DesiredResource<'listener'>[], inb: DesiredResource<'listener'>) => joinSorted([outbound, [inb]]));
const NO_SECRETS: readonly DesiredResource<'secret'>[] = [];

/** What a sidecar's pod reaches (model/reachable.ts), as its translation scopes it; undefined: every Service. */
export function sidecarReach(model: MeshModel, proxy: ProxyDescriptor): readonly string[] | undefined {
  return workloadOf(model, proxy.namespace, proxy.pod)?.reachable;
}

/** The resources of one sidecar proxy class (a pod in a namespace), and what could not be translated. */
export function translateSidecar(model: MeshModel, proxy: ProxyDescriptor & { mode: 'sidecar' }): Translation {
  const reach = sidecarReach(model, proxy);
  const scope = reach ? reachKey(reach) : '';
  const outbound = reach ? scopedOutbound(model, reach) : sidecarOutbound(model);
  const routes = routesFor(proxy.namespace, outbound, scope);
  const inb = inboundFor(model, proxy.namespace, proxy.pod);
  return {
    resources: {
      cluster: joinClusters(outbound.clusters, inb.clusters),
      endpoint: endpointsFor(model, outbound, proxy.locality, scope),
      listener: joinListeners(outbound.listeners, inb.listener),
      route: routes.routes,
      secret: NO_SECRETS,
    },
    diagnostics: sortErrors([...outbound.errors, ...routes.errors, ...inb.errors, ...(proxy.locality ? [] : noLocalityNotes(outbound.localityAware))]),
  };
}
