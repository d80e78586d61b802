/**
 * What a proxyless gRPC client needs to dial a service port: an API listener per name it may dial,
 * one route configuration per service port, the EDS cluster and its endpoints.
 *
 *   Listener  <hostname>:<port>, <name>.<namespace>:<port>, <name>:<port> (own namespace only)
 *             api_listener = HttpConnectionManager { rds: <hostname>:<port> }
 *   Route     <hostname>:<port>: one virtual host whose domains are all three names, prefix '' → cluster
 *   Cluster   outbound|<port>||<hostname>: EDS over ADS, ROUND_ROBIN (ClusterIP and headless services:
 *             gRPC balances over the pod IPs itself); LOGICAL_DNS to <externalName>:<port> for
 *             ExternalName services (gRFC A37; grpc-js-xds accepts LOGICAL_DNS, not STRICT_DNS)
 *   CLA       outbound|<port>||<hostname>: one LocalityLbEndpoints per locality (EDS clusters only);
 *             a locality-aware port's is also built per client locality (proxyless.ts, policy/locality.ts)
 *   Cluster and CLA outbound|<port>|<subset>|<hostname>: the subsets a policy's routes send to
 *             (policy/subsets.ts), EDS like the service port's own
 *   mTLS      a STRICT port's EDS clusters (its subsets too) speak mutual TLS with the bootstrap's
 *             certificate provider (mtls.ts); PERMISSIVE ones, plaintext
 *
 * None of it depends on the client's namespace: only which listeners a namespace receives does.
 * So each resource is built once per model and the same objects are handed to every namespace.
 */
import { type Diagnostic, formatRef, sortedRefs } from '../diagnostics.js';
import { typed } from '../envoy/codec.js';
import type { Cluster } from '../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../envoy/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../envoy/generated/envoy/config/route/v3/RouteConfiguration.js';
import type { HttpConnectionManager } from '../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { MeshModel, ModelEndpoint, ModelService, ModelServicePort } from '../model/types.js';
import { DEFAULT_MODEL_OPTIONS } from '../model/build.js';
import type { DesiredResource } from '../envoy/resources.js';
import { outboundCluster, proxylessTargets } from './names.js';
import { ADS_CONFIG_SOURCE, CONNECT_TIMEOUT, MESSAGE } from './common.js';
import { edsCluster } from './clusters.js';
import { localityGroups, type EndpointForm } from './endpoints.js';
import { filterPolicySources, httpFilters, virtualHostFilterConfigs } from './filters/index.js';
import { ROUTER_FILTER } from './filters/router.js';
import { isGrpcPort, isIpLiteral } from './proxyless-common.js';
import { guarded, sortedUnique, translationError } from './translation.js';
import { clusterPolicySources, withClusterPolicy } from './policy/cluster.js';
import { routePolicySources, serviceRoutes } from './policy/routes.js';
import type { MeshIndex, PortContext, RouteContext } from './policy/types.js';
import { indexOf } from './policy/mesh-index.js';
import { policySubsets, type PolicySubset } from './policy/subsets.js';
import { localityAware, localityNotApplicable, type LocalityAwareAssignment } from './policy/locality.js';
import { outlierDetectionPlaceholder, virtualHostName } from './client-quirks/grpc-js-xds-1.14.js';
import { withGrpcMtls, withMtlsSources } from './mtls.js';

/** The resources of one service port, shared by every proxyless namespace. */
export interface ProxylessServicePort {
  readonly service: ModelService;
  readonly port: ModelServicePort;
  readonly cluster: DesiredResource<'cluster'>;
  /** None for a LOGICAL_DNS cluster. */
  readonly endpoint?: DesiredResource<'endpoint'>;
  readonly route: DesiredResource<'route'>;
  /** By listener name: every name some namespace may dial. */
  readonly listeners: ReadonlyMap<string, DesiredResource<'listener'>>;
}

export interface ProxylessOutbound {
  readonly ports: readonly ProxylessServicePort[];
  /** The subset clusters the policies' routes send to (policy/subsets.ts), sorted by name. */
  readonly subsets: readonly Required<Pick<ProxylessServicePort, 'cluster' | 'endpoint'>>[];
  /** By assignment name: those whose service port is locality-aware, to build per client locality. */
  readonly localityAware: ReadonlyMap<string, LocalityAwareAssignment>;
  readonly errors: readonly Diagnostic[];
}

/**
 * How an endpoint is marked. grpc-js-xds (1.14, xds-dependency-manager getEdsResource) keeps only
 * endpoints whose health_status is UNKNOWN or HEALTHY and silently drops the others: DRAINING is
 * never used, not even when nothing else is left. The model lists terminating-but-serving
 * endpoints only when none is ready, precisely so that they get traffic; marked DRAINING they would
 * leave a gRPC client with no endpoint at all. So: HEALTHY when ready, UNKNOWN (used, but not
 * claimed healthy) for that fallback.
 */
export function proxylessHealth(e: Pick<ModelEndpoint, 'ready'>): 'HEALTHY' | 'UNKNOWN' {
  return e.ready ? 'HEALTHY' : 'UNKNOWN';
}

/** gRPC's endpoints: health as above; no transport socket match metadata (gRPC has no per-endpoint TLS choice: mtls.ts). */
const PROXYLESS_ENDPOINTS: EndpointForm = { health: proxylessHealth, meshMetadata: false };

function clusterLoadAssignment(name: string, endpoints: readonly ModelEndpoint[]): ClusterLoadAssignment {
  return { cluster_name: name, endpoints: localityGroups(endpoints, PROXYLESS_ENDPOINTS) };
}

/** An EDS cluster for gRPC (with an outlier detection that ejects nothing: client-quirks/grpc-js-xds-1.14.ts). */
function grpcEdsCluster(name: string): Cluster {
  return { ...edsCluster(name), ...outlierDetectionPlaceholder() };
}

function logicalDnsCluster(name: string, host: string, port: number): Cluster {
  return {
    name,
    ...outlierDetectionPlaceholder(),
    type: 'LOGICAL_DNS',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
  };
}

/**
 * The route configuration of a service port: one virtual host, with the filter settings of the
 * port's policy. Its name changes with those settings (virtualHostName, client-quirks/grpc-js-xds-1.14.ts).
 */
function routeConfiguration(name: string, domains: readonly string[], ctx: RouteContext, errors: Diagnostic[]): RouteConfiguration {
  const filters = virtualHostFilterConfigs(ctx, errors);
  return {
    name,
    virtual_hosts: [
      {
        name: virtualHostName(name, filters),
        domains: [...domains],
        routes: serviceRoutes(ctx, errors),
        ...(filters ? { typed_per_filter_config: filters } : {}),
      },
    ],
  };
}

/**
 * The API listener through which a client dials `name`. Its HTTP filters come from the ordered list
 * (filters/index.ts) for the service port `ctx`: the fault filter when the port's policy injects
 * faults (gRPC applies a virtual host's fault settings only for a filter its connection manager
 * lists), the router last. Without `ctx`, the router alone.
 */
export function apiListener(name: string, routeName: string, statPrefix: string, ctx?: PortContext): Listener {
  const hcm: HttpConnectionManager = {
    stat_prefix: statPrefix,
    rds: { route_config_name: routeName, config_source: ADS_CONFIG_SOURCE },
    http_filters: ctx ? httpFilters({ direction: 'outbound', port: ctx.port.port, target: 'proxyless', services: [ctx] }) : [ROUTER_FILTER],
  };
  return { name, api_listener: { api_listener: typed(MESSAGE.httpConnectionManager, hcm) } };
}

/** Endpoints gRPC can use; the others are reported (gRPC would reject the whole assignment). */
function usableEndpoints(port: ModelServicePort, errors: Diagnostic[]): ModelEndpoint[] {
  return port.endpoints.filter((e) => {
    if (isIpLiteral(e.address)) return true;
    errors.push(translationError(e.source, 'endpoints.addresses', `"${e.address}" is not an IP address; left out for proxyless gRPC clients`));
    return false;
  });
}

type Upstream = Pick<ProxylessServicePort, 'cluster' | 'endpoint'> & { readonly aware?: LocalityAwareAssignment };

/** What proxyless mTLS needs of the model besides the service port: the trust domain. */
type Trust = Pick<MeshModel, 'trustDomain'>;

function clientSide(service: ModelService, port: ModelServicePort, trust: Trust, errors: Diagnostic[]): Upstream | undefined {
  const name = outboundCluster(service.hostname, port.port);
  const sources = [service.source];
  if (service.kind === 'ExternalName') {
    if (!service.externalName) {
      errors.push(translationError(service.source, 'spec.externalName', 'an ExternalName service needs an external name; it gets no cluster'));
      return undefined;
    }
    const ctx = { service, port, target: 'proxyless' } as const;
    localityNotApplicable(ctx, `${formatRef(service.source)} is ExternalName: gRPC resolves the external name by DNS`, errors);
    return {
      cluster: {
        name,
        message: withClusterPolicy(logicalDnsCluster(name, service.externalName, port.port), ctx, errors),
        sources: sortedRefs([...sources, ...clusterPolicySources(ctx)]),
      },
    };
  }
  const endpoints = usableEndpoints(port, errors);
  const ctx = { service, port, target: 'proxyless' } as const;
  const endpoint = { name, message: clusterLoadAssignment(name, endpoints), sources: sortedRefs([service.source, ...endpoints.map((e) => e.source)]) };
  const aware = localityAware(ctx, endpoint, endpoints, PROXYLESS_ENDPOINTS, errors);
  return {
    cluster: {
      name,
      message: withGrpcMtls(withClusterPolicy(grpcEdsCluster(name), ctx, errors), ctx, trust),
      sources: withMtlsSources([...sources, ...clusterPolicySources(ctx)], [ctx]),
    },
    endpoint,
    ...(aware ? { aware } : {}),
  };
}

function servicePort(
  service: ModelService,
  port: ModelServicePort,
  mesh: MeshIndex,
  trust: Trust,
  errors: Diagnostic[],
  aware: Map<string, LocalityAwareAssignment>,
): ProxylessServicePort | undefined {
  const found = clientSide(service, port, trust, errors);
  if (!found) return undefined;
  const { aware: localityAwareAssignment, ...upstream } = found;
  if (localityAwareAssignment) aware.set(upstream.cluster.name, localityAwareAssignment);
  const sources = [service.source];
  const ctx: RouteContext = { service, port, target: 'proxyless', mesh };
  const clusterName = upstream.cluster.name;
  // The service's own namespace sees every name: the route lists them all, whoever dials.
  const names = proxylessTargets(service, port.port, service.namespace);
  const routeName = names[0] ?? clusterName;
  const listeners = new Map<string, DesiredResource<'listener'>>();
  const listenerSources = sortedRefs([...sources, ...filterPolicySources(ctx)]);
  for (const name of names) listeners.set(name, { name, message: apiListener(name, routeName, clusterName, ctx), sources: listenerSources });
  return {
    service,
    port,
    ...upstream,
    route: {
      name: routeName,
      message: routeConfiguration(routeName, sortedUnique(names), ctx, errors),
      sources: sortedRefs([...sources, ...routePolicySources(ctx)]),
    },
    listeners,
  };
}

/** A policy subset's EDS cluster (with the cluster policy of its service port) and its endpoints. */
function subsetResources(
  subset: PolicySubset,
  trust: Trust,
  errors: Diagnostic[],
  aware: Map<string, LocalityAwareAssignment>,
): Required<Pick<ProxylessServicePort, 'cluster' | 'endpoint'>> {
  const { name, service, port } = subset;
  const ctx = { service, port, target: 'proxyless' } as const;
  const endpoints = usableEndpoints({ ...port, endpoints: subset.endpoints }, []); // the port's own cluster reports these
  const endpoint = {
    name,
    message: clusterLoadAssignment(name, endpoints),
    sources: sortedRefs([service.source, ...endpoints.map((e) => e.source), ...subset.policies]),
  };
  const localityAwareAssignment = localityAware(ctx, endpoint, endpoints, PROXYLESS_ENDPOINTS, errors);
  if (localityAwareAssignment) aware.set(name, localityAwareAssignment);
  return {
    cluster: {
      name,
      message: withGrpcMtls(withClusterPolicy(grpcEdsCluster(name), ctx, errors), ctx, trust),
      sources: withMtlsSources([service.source, ...clusterPolicySources(ctx), ...subset.policies], [ctx]),
    },
    endpoint,
  };
}

/** What one service port gave, and the problems found making it. */
interface PortMade {
  readonly value: ProxylessServicePort | undefined;
  readonly aware: readonly (readonly [string, LocalityAwareAssignment])[];
  readonly errors: readonly Diagnostic[];
}

/**
 * What each service port gave, per service object and trust domain (all it depends on: a proxyless
 * route reads the mesh for nothing, policy/backends.ts). The model shares every service that did not
 * change with the model before (model/share.ts), so a change makes again only the service ports it
 * touched, and the snapshot cache finds the other resources by identity.
 */
const byService = new WeakMap<ModelService, { readonly trustDomain: string; readonly ports: Map<ModelServicePort, PortMade> }>();

function madeFor(service: ModelService, port: ModelServicePort, trust: Trust, make: () => PortMade): PortMade {
  let memo = byService.get(service);
  if (memo?.trustDomain !== trust.trustDomain) {
    memo = { trustDomain: trust.trustDomain, ports: new Map() };
    byService.set(service, memo);
  }
  let made = memo.ports.get(port);
  if (made === undefined) {
    made = make();
    memo.ports.set(port, made);
  }
  return made;
}

/**
 * Every service port a proxyless client may dial, in the model's (sorted) order, and the policies'
 * subset clusters. `mesh` is where routes find backends and pod labels (default: these services,
 * no pods); `trust`: the model's trust domain (mutual TLS to STRICT ports, mtls.ts).
 */
export function proxylessOutbound(
  services: readonly ModelService[],
  mesh: MeshIndex = indexOf(services),
  trust: Trust = DEFAULT_MODEL_OPTIONS,
): ProxylessOutbound {
  const errors: Diagnostic[] = [];
  const ports: ProxylessServicePort[] = [];
  const aware = new Map<string, LocalityAwareAssignment>();
  for (const service of services) {
    for (const port of service.ports.filter(isGrpcPort)) {
      const made = madeFor(service, port, trust, () => {
        const found: Diagnostic[] = [];
        const portAware = new Map<string, LocalityAwareAssignment>();
        let value: ProxylessServicePort | undefined;
        guarded(service.source, found, () => (value = servicePort(service, port, mesh, trust, found, portAware)));
        return { value, aware: [...portAware], errors: found };
      });
      errors.push(...made.errors);
      for (const [name, a] of made.aware) aware.set(name, a);
      if (made.value) ports.push(made.value);
    }
  }
  const subsets: ProxylessOutbound['subsets'][number][] = [];
  for (const subset of policySubsets(services, mesh, 'proxyless', errors)) {
    guarded(subset.policies[0] ?? subset.service.source, errors, () => subsets.push(subsetResources(subset, trust, errors, aware)));
  }
  return { ports, subsets, localityAware: aware, errors };
}
