/**
 * What every sidecar receives whatever its namespace or pod: the outbound clusters (with the subset
 * clusters the policies' routes send to, policy/subsets.ts), their endpoints and the outbound
 * listeners. Computed once per model; every proxy is handed the very same objects,
 * so the snapshot cache recognises them without hashing them again. The assignments of
 * locality-aware ports (policy/locality.ts) are listed apart too: sidecar.ts builds them per
 * proxy locality.
 */
import { createHash } from 'node:crypto';
import { type Diagnostic, formatRef, sortedRefs } from '../diagnostics.js';
import type { MeshModel, ModelService, ModelServicePort, ModelWorkload } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import type { ResourceKind } from '../envoy/types.js';
import { edsCluster, hasEds, outboundServiceCluster, passthroughCluster } from './clusters.js';
import { localityGroups, outboundEndpoints, SIDECAR_ENDPOINTS } from './endpoints.js';
import { outboundHttpPortListener, outboundTcpPortListener, virtualOutbound } from './listeners.js';
import { RoutingViews, type HttpPortServices } from './routes.js';
import { isHttp, RESERVED_PORTS } from './common.js';
import { SIDECAR } from './names.js';
import type { MeshIndex } from './policy/types.js';
import { byName, guarded, keepEqual, perElements, perModel, perObject, sameElements, sortedUnique, translationError } from './translation.js';
import { clusterPolicySources, withClusterPolicy } from './policy/cluster.js';
import { meshIndex, namespaceIndex } from './policy/mesh-index.js';
import { policySubsets, type PolicySubset } from './policy/subsets.js';
import { localityAware, localityNotApplicable, type LocalityAwareAssignment } from './policy/locality.js';
import { withMtlsSources, withSidecarMtls } from './mtls.js';

export interface SidecarOutbound {
  readonly clusters: readonly DesiredResource<'cluster'>[];
  /** Every assignment as a proxy without a locality gets it. */
  readonly endpoints: readonly DesiredResource<'endpoint'>[];
  /** By assignment name: those whose service port is locality-aware, to build per proxy locality. */
  readonly localityAware: ReadonlyMap<string, LocalityAwareAssignment>;
  readonly listeners: readonly DesiredResource<'listener'>[];
  /** The HTTP ports and their services, sorted by port: what the route configurations are made of. */
  readonly httpPorts: readonly HttpPortServices[];
  /** Services (`Service ns/name`) whose ClusterIP an earlier service (in model order) already has. */
  readonly ipTaken: ReadonlySet<string>;
  /** The policy subsets' cluster (and assignment) names of each service that has some. */
  readonly subsetNames: ReadonlyMap<ModelService, readonly string[]>;
  /** What it was made with, shared by every sidecar's outbound of the model. */
  readonly base: OutboundBase;
  /** The problems of every service's outbound resources, whatever the sidecar reaches. */
  readonly errors: readonly Diagnostic[];
}

/** Two services with one ClusterIP: the second is an input error, and loses what hangs on the IP. */
function duplicateClusterIPs(services: readonly ModelService[], errors: Diagnostic[]): Set<string> {
  const owner = new Map<string, ModelService>();
  const taken = new Set<string>();
  for (const s of services) {
    if (s.kind !== 'ClusterIP' || !s.clusterIP) continue;
    const first = owner.get(s.clusterIP);
    if (first === undefined) {
      owner.set(s.clusterIP, s);
      continue;
    }
    taken.add(formatRef(s.source));
    errors.push(
      translationError(
        s.source,
        'spec.clusterIP',
        `clusterIP ${s.clusterIP} is already ${formatRef(first.source)}'s; this service gets no TCP listeners and is not routed by IP`,
      ),
    );
  }
  return taken;
}

/** One result computed from a service port, and the problems found computing it. */
interface Remembered<T> {
  readonly value: T;
  readonly errors: readonly Diagnostic[];
}

interface PortResults {
  cluster?: Remembered<DesiredResource<'cluster'> | undefined>;
  assignment?: Remembered<{ cla: DesiredResource<'endpoint'>; aware: LocalityAwareAssignment | undefined }>;
}

/**
 * What each service port gave the sidecars, per service object and trust domain (all these results
 * depend on): the model shares every service that did not change with the model before
 * (model/share.ts), so a change translates again only the services it touched, and the snapshot
 * cache finds the other resources by identity instead of hashing them anew.
 */
const byService = new WeakMap<ModelService, { readonly trustDomain: string; readonly ports: Map<ModelServicePort, PortResults> }>();

function portResults(service: ModelService, port: ModelServicePort, trustDomain: string): PortResults {
  let memo = byService.get(service);
  if (memo?.trustDomain !== trustDomain) {
    memo = { trustDomain, ports: new Map() };
    byService.set(service, memo);
  }
  let results = memo.ports.get(port);
  if (results === undefined) {
    results = {};
    memo.ports.set(port, results);
  }
  return results;
}

/** The remembered value (its problems added to `errors` again), or computed now and remembered. */
function remember<T>(known: Remembered<T> | undefined, compute: (errors: Diagnostic[]) => T, errors: Diagnostic[], keep: (r: Remembered<T>) => void): T {
  if (known !== undefined) {
    errors.push(...known.errors);
    return known.value;
  }
  const found: Diagnostic[] = [];
  const value = compute(found);
  keep({ value, errors: found });
  errors.push(...found);
  return value;
}

class OutboundBuilder {
  readonly clusters = new Map<string, DesiredResource<'cluster'>>();
  readonly endpoints: DesiredResource<'endpoint'>[] = [];
  readonly localityAware = new Map<string, LocalityAwareAssignment>();
  readonly listeners: DesiredResource<'listener'>[] = [];
  readonly http = new Map<number, ModelService[]>();
  readonly errors: Diagnostic[] = [];

  constructor(
    private readonly ipTaken: ReadonlySet<string>,
    private readonly model: MeshModel,
  ) {}

  service(service: ModelService): void {
    for (const port of service.ports) {
      const results = portResults(service, port, this.model.trustDomain);
      const cluster = remember(
        results.cluster,
        (errors) => outboundServiceCluster(service, port, errors, this.model),
        this.errors,
        (r) => (results.cluster = r),
      );
      if (!cluster) continue;
      if (this.clusters.has(cluster.name)) {
        this.errors.push(translationError(service.source, 'spec.ports', `port ${port.port} is declared twice; the second is ignored`));
        continue;
      }
      this.clusters.set(cluster.name, cluster);
      this.assignment(service, port, results);
      if (isHttp(port.protocol)) this.httpPort(service, port);
      else this.tcpPort(service, port);
    }
  }

  /** The port's assignment (EDS clusters only), and what locality awareness needs of it. */
  private assignment(service: ModelService, port: ModelServicePort, results: PortResults): void {
    const ctx = { service, port, target: 'sidecar' } as const;
    if (!hasEds(service)) {
      const why = service.kind === 'Headless' ? 'sends each connection to the pod address the client dialled' : 'resolves the external name by DNS';
      localityNotApplicable(ctx, `${formatRef(service.source)} is ${service.kind}: the sidecar ${why}`, this.errors);
      return;
    }
    const { cla, aware } = remember(
      results.assignment,
      (errors) => {
        const made = outboundEndpoints(service, port);
        return { cla: made, aware: localityAware(ctx, made, port.endpoints, SIDECAR_ENDPOINTS, errors) };
      },
      this.errors,
      (r) => (results.assignment = r),
    );
    this.endpoints.push(cla);
    if (aware) this.localityAware.set(cla.name, aware);
  }

  private httpPort(service: ModelService, port: ModelServicePort): void {
    if (RESERVED_PORTS.has(port.port)) {
      this.errors.push(
        translationError(service.source, 'spec.ports', `port ${port.port} is one the sidecar listens on itself; HTTP traffic to it is passed through unrouted`),
      );
      return;
    }
    const list = this.http.get(port.port);
    if (list) list.push(service);
    else this.http.set(port.port, [service]);
  }

  private tcpPort(service: ModelService, port: ModelServicePort): void {
    // Headless and ExternalName TCP ports get no listener: their traffic takes the passthrough
    // (see listeners.ts). A ClusterIP service that lost its IP to another has no address of its own.
    if (service.kind !== 'ClusterIP' || this.ipTaken.has(formatRef(service.source))) return;
    if (!service.clusterIP) {
      this.errors.push(translationError(service.source, 'spec.clusterIP', `no clusterIP: TCP port ${port.port} gets no outbound listener`));
      return;
    }
    this.listeners.push(outboundTcpPortListener(service.clusterIP, port.port, service.hostname, service.source));
  }
}

interface SubsetResources {
  /** The service it is cut from. */
  readonly service: ModelService;
  readonly cluster: DesiredResource<'cluster'>;
  readonly endpoint: DesiredResource<'endpoint'>;
  /** When the subset's service port is locality-aware. */
  readonly aware?: LocalityAwareAssignment;
}

/** A policy subset's EDS cluster (with the cluster policy and mutual TLS of its service port) and its endpoints. */
function subsetResources(subset: PolicySubset, model: MeshModel, errors: Diagnostic[]): SubsetResources {
  const { name, service, port } = subset;
  const ctx = { service, port, target: 'sidecar' } as const;
  const cluster = {
    name,
    message: withSidecarMtls(withClusterPolicy(edsCluster(name, port.protocol), ctx, errors), ctx, model),
    sources: withMtlsSources([service.source, ...clusterPolicySources(ctx), ...subset.policies], [ctx]),
  };
  const endpoint = {
    name,
    message: { cluster_name: name, endpoints: localityGroups(subset.endpoints, SIDECAR_ENDPOINTS) },
    sources: sortedRefs([service.source, ...subset.endpoints.map((e) => e.source), ...subset.policies]),
  };
  const aware = localityAware(ctx, endpoint, subset.endpoints, SIDECAR_ENDPOINTS, errors);
  return { service, cluster, endpoint, ...(aware ? { aware } : {}) };
}

/** The subset clusters the policies' routes send to (policy/subsets.ts). */
function subsets(model: MeshModel, errors: Diagnostic[]): SubsetResources[] {
  const out: SubsetResources[] = [];
  for (const subset of policySubsets(model.services, meshIndex(model), 'sidecar', errors)) {
    guarded(subset.policies[0] ?? subset.service.source, errors, () => out.push(subsetResources(subset, model, errors)));
  }
  return out;
}

/** What routes look up in the mesh (each service's kind), as a digest of its text. */
function kindsOf(services: readonly ModelService[]): string {
  let text = '';
  for (const s of services) text += `${s.namespace}/${s.name}:${s.kind}\n`;
  return createHash('sha1').update(text).digest('base64');
}

/** `next`, or `previous` when every group has the same port, the same kinds and the very same services. */
function keepGroups(next: readonly HttpPortServices[], previous: readonly HttpPortServices[] | undefined): readonly HttpPortServices[] {
  if (previous === undefined || previous.length !== next.length) return next;
  const same = next.every((g, i) => {
    const p = previous[i];
    return p !== undefined && p.port === g.port && p.kinds === g.kinds && sameElements(p.services, g.services);
  });
  return same ? previous : next;
}

/** The HTTP port listener of a group, made once per group object (kept groups keep theirs). */
const httpListener = new WeakMap<HttpPortServices, DesiredResource<'listener'>>();

function httpPortListener(group: HttpPortServices): DesiredResource<'listener'> {
  let listener = httpListener.get(group);
  if (listener === undefined) {
    listener = outboundHttpPortListener(group);
    httpListener.set(group, listener);
  }
  return listener;
}

const routingViews = new RoutingViews();

/** What every sidecar's outbound of one model is made with, scoped or not. */
interface OutboundBase {
  readonly ipTaken: ReadonlySet<string>;
  readonly mesh: MeshIndex;
  readonly kinds: string;
  /** Each service's routing view (routes.ts). */
  readonly view: (service: ModelService) => ModelService;
  readonly errors: readonly Diagnostic[];
}

/**
 * The outbound resources of the model before (the last one computed): every list equal in content
 * is handed out again as that very list, so that a change that leaves them as they were (an
 * endpoint change leaves every cluster, listener and route) costs each proxy class nothing.
 */
let last: SidecarOutbound | undefined;

function outboundBase(model: MeshModel): OutboundBase {
  const errors: Diagnostic[] = [];
  const taken = duplicateClusterIPs(model.services, errors);
  const ipTaken = last !== undefined && sameElements([...last.ipTaken], [...taken]) ? last.ipTaken : taken;
  routingViews.update(model.services);
  return {
    ipTaken,
    mesh: meshIndex(model),
    kinds: kindsOf(model.services),
    view: (s) => routingViews.view(s),
    errors,
  };
}

/** The HTTP port groups of a builder's services (their routing views), sorted by port. */
function httpGroups(b: OutboundBuilder, base: OutboundBase): HttpPortServices[] {
  return [...b.http.entries()]
    .sort(([a], [c]) => a - c)
    .map(([port, services]): HttpPortServices => ({ port, services: services.map(base.view), mesh: base.mesh, kinds: base.kinds }));
}

function computeOutbound(model: MeshModel): SidecarOutbound {
  const base = outboundBase(model);
  const errors = [...base.errors];
  const b = new OutboundBuilder(base.ipTaken, model);
  for (const service of model.services) guarded(service.source, errors, () => b.service(service));
  const httpPorts = keepGroups(httpGroups(b, base), last?.httpPorts);
  const subset = subsets(model, errors);
  const aware = [...b.localityAware, ...subset.flatMap((s) => (s.aware ? [[s.endpoint.name, s.aware] as const] : []))];
  const outbound: SidecarOutbound = {
    clusters: keepEqual(byName([passthroughCluster(), ...b.clusters.values(), ...subset.map((s) => s.cluster)]), last?.clusters),
    endpoints: keepEqual(byName([...b.endpoints, ...subset.map((s) => s.endpoint)]), last?.endpoints),
    localityAware: new Map(aware),
    listeners: keepEqual(byName([virtualOutbound(), ...b.listeners, ...httpPorts.map(httpPortListener)]), last?.listeners),
    httpPorts,
    ipTaken: base.ipTaken,
    subsetNames: subsetNamesOf(subset),
    base,
    errors: [...errors, ...b.errors],
  };
  last = outbound;
  return outbound;
}

/** The subset cluster names of each service that has some. */
function subsetNamesOf(subset: readonly SubsetResources[]): ReadonlyMap<ModelService, readonly string[]> {
  const out = new Map<ModelService, string[]>();
  for (const s of subset) {
    const names = out.get(s.service);
    if (names) names.push(s.cluster.name);
    else out.set(s.service, [s.cluster.name]);
  }
  return out;
}

/** The outbound resources of every sidecar of this model: computed on first use, then the same object. */
export const sidecarOutbound: (model: MeshModel) => SidecarOutbound = perModel(computeOutbound);

/** Each service's place in the model's order. */
const serviceOrder = perModel((model) => new Map(model.services.map((s, i) => [s, i])));

/**
 * The services a reach takes in (model/reachable.ts), in model order: those it names, and those
 * their policies' routes send to or mirror to (their clusters are what the routes name).
 */
function reachedServices(model: MeshModel, reach: readonly string[]): ModelService[] {
  const mesh = meshIndex(model);
  const found = new Set<ModelService>();
  for (const entry of reach) {
    const [namespace = '', name = ''] = entry.split('/');
    if (name === '*') for (const s of namespaceIndex(model).services.get(namespace) ?? []) found.add(s);
    else {
      const s = mesh.service(namespace, name);
      if (s) found.add(s);
    }
  }
  for (const s of [...found]) {
    for (const port of s.ports) {
      for (const rule of port.routes ?? []) {
        for (const to of [...(rule.backends ?? []), ...(rule.mirror ? [rule.mirror] : [])]) {
          const target = mesh.service(to.service.namespace ?? s.namespace, to.service.name);
          if (target) found.add(target);
        }
      }
    }
  }
  const order = serviceOrder(model);
  return [...found].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
}

/** The very objects every sidecar gets (kept from model to model there), by name: made once per model, whatever the number of reaches. */
const byNameOf = perObject((full: SidecarOutbound) => ({
  clusters: new Map(full.clusters.map((c) => [c.name, c])),
  endpoints: new Map(full.endpoints.map((e) => [e.name, e])),
  listeners: new Map(full.listeners.map((l) => [l.name, l])),
}));

/** The last outbound made for each reach (its entries joined by ','), for keepEqual; only reaches a workload has are kept. */
const lastScoped = new Map<string, Scoped>();

/** A reach's outbound, with what its shape was made from: the full outbound's lists and the names it took. */
interface Scoped {
  readonly outbound: SidecarOutbound;
  readonly from: Pick<SidecarOutbound, 'clusters' | 'listeners' | 'httpPorts' | 'ipTaken'>;
  /** Cluster (and assignment) names, sorted. */
  readonly names: readonly string[];
}

const NO_AWARE: ReadonlyMap<string, LocalityAwareAssignment> = new Map();

/**
 * The resources of `names` in `index`, or `held` when those are its very elements. Identity is
 * enough: the full outbound hands out a resource equal to the last model's as that very object
 * (keepEqual), so an element that is not the held one has other content.
 */
function pick<K extends DesiredResource<ResourceKind>>(index: ReadonlyMap<string, K>, names: readonly string[], held: readonly K[] | undefined): readonly K[] {
  const out: K[] = [];
  let same = held !== undefined;
  for (const name of names) {
    const r = index.get(name);
    if (r === undefined) continue;
    if (same && held?.[out.length] !== r) same = false;
    out.push(r);
  }
  return same && held?.length === out.length ? held : out;
}

/** The assignments of `names` in the full outbound, and those of them that are locality-aware. */
function scopedEndpoints(full: SidecarOutbound, names: readonly string[], held: readonly DesiredResource<'endpoint'>[] | undefined) {
  const { endpoints } = byNameOf(full);
  const aware =
    full.localityAware.size === 0
      ? NO_AWARE
      : new Map(
          names.flatMap((name) => {
            const a = full.localityAware.get(name);
            return a ? [[name, a] as const] : [];
          }),
        );
  return { endpoints: pick(endpoints, names, held), aware };
}

function computeScoped(model: MeshModel, reach: readonly string[], key: string): SidecarOutbound {
  const full = sidecarOutbound(model);
  const base = full.base;
  const held = lastScoped.get(key);
  const from = { clusters: full.clusters, listeners: full.listeners, httpPorts: full.httpPorts, ipTaken: full.ipTaken };
  if (
    held &&
    held.from.clusters === from.clusters &&
    held.from.listeners === from.listeners &&
    held.from.httpPorts === from.httpPorts &&
    held.from.ipTaken === from.ipTaken
  ) {
    // No service, port, route or listener of the mesh changed, so neither did what this reach takes in:
    // only its assignments may have.
    const { endpoints, aware } = scopedEndpoints(full, held.names, held.outbound.endpoints);
    const outbound = { ...held.outbound, endpoints, localityAware: aware, base, errors: full.errors };
    lastScoped.set(key, { outbound, from, names: held.names });
    return outbound;
  }
  const b = new OutboundBuilder(base.ipTaken, model);
  const ignored: Diagnostic[] = []; // the full outbound reports every service's problems
  const services = reachedServices(model, reach);
  for (const service of services) guarded(service.source, ignored, () => b.service(service));
  const { clusters, listeners: tcpListeners } = byNameOf(full);
  const names = sortedUnique([SIDECAR.passthroughCluster, ...b.clusters.keys(), ...services.flatMap((s) => full.subsetNames.get(s) ?? [])]);
  const { endpoints, aware } = scopedEndpoints(full, names, held?.outbound.endpoints);
  const httpPorts = keepGroups(httpGroups(b, base), held?.outbound.httpPorts);
  const outbound: SidecarOutbound = {
    clusters: pick(clusters, names, held?.outbound.clusters),
    endpoints,
    localityAware: aware,
    listeners: keepEqual(
      byName([
        tcpListeners.get(SIDECAR.outboundListener) ?? virtualOutbound(),
        ...b.listeners.map((l) => tcpListeners.get(l.name) ?? l),
        ...httpPorts.map(httpPortListener),
      ]),
      held?.outbound.listeners,
    ),
    httpPorts,
    ipTaken: base.ipTaken,
    subsetNames: full.subsetNames,
    base,
    errors: full.errors,
  };
  lastScoped.set(key, { outbound, from, names });
  return outbound;
}

/** A reach's key: its entries joined by ',' (once per reach array: a workload the model kept keeps its array). */
export const reachKey: (reach: readonly string[]) => string = perObject((reach: readonly string[]) => reach.join(','));

/** The reaches workloads have, by key (looked at again only when some workload changed); the kept outbound of any other is forgotten. */
const reachesInUse = perElements((workloads: readonly ModelWorkload[]) => {
  const inUse = new Set(workloads.flatMap((w) => (w.reachable ? [reachKey(w.reachable)] : [])));
  for (const key of lastScoped.keys()) if (!inUse.has(key)) lastScoped.delete(key);
  return inUse;
});

/** The scoped outbounds of one model, by reach key. */
const scopedFor = perModel((model) => {
  reachesInUse(model.workloads);
  return new Map<string, SidecarOutbound>();
});

/**
 * The outbound resources of a sidecar whose pod reaches only `reach` (model/reachable.ts): the
 * same resource objects as every sidecar's, of the services reached only; one computation per
 * reach and model, and from one model to the next equal lists are the very lists made before.
 */
export function scopedOutbound(model: MeshModel, reach: readonly string[]): SidecarOutbound {
  const memo = scopedFor(model);
  const key = reachKey(reach);
  let outbound = memo.get(key);
  if (outbound === undefined) {
    outbound = computeScoped(model, reach, key);
    memo.set(key, outbound);
  }
  return outbound;
}
