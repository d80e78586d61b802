/**
 * Sidecar route configurations.
 *
 * Outbound, one per HTTP port (`<port>`, fetched over RDS by the `0.0.0.0_<port>` listener): a
 * virtual host `<hostname>:<port>` per service with an HTTP port of that number, answering to the
 * names a client in the proxy's namespace may use (the short name only in that namespace, where it
 * is unambiguous), each with and without `:<port>`, and to the ClusterIP; plus `allow_any`, which
 * sends requests for any other host on unchanged (to PassthroughCluster), so that HTTP traffic to
 * destinations outside the mesh on a port the mesh also uses still flows.
 *
 * Domains are unique across a configuration's virtual hosts (Envoy refuses duplicates): a domain
 * already taken is an error on the service that asked for it second, and is left out.
 *
 * Inbound, inline in each HTTP filter chain of virtualInbound: every host to the inbound cluster.
 */
import { type Diagnostic, formatRef, type ObjectRef, sortedRefs } from '../diagnostics.js';
import type { Route } from '../envoy/generated/envoy/config/route/v3/Route.js';
import type { RouteConfiguration } from '../envoy/generated/envoy/config/route/v3/RouteConfiguration.js';
import type { VirtualHost } from '../envoy/generated/envoy/config/route/v3/VirtualHost.js';
import type { ModelService } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inboundCluster, inboundRoute, inboundVirtualHost, outboundCluster, outboundRoute, outboundVirtualHost, SIDECAR } from './names.js';
import { hostOfIp, ROUTE_TIMEOUT } from './common.js';
import { byName, sortedUnique, translationError } from './translation.js';
import { routePolicySources, serviceRoutes } from './policy/routes.js';
import type { MeshIndex, RouteContext } from './policy/types.js';
import { virtualHostFilterConfigs } from './filters/index.js';

/** The services (their routing views) that have an HTTP port of one number (and a cluster for it), in model order. */
export interface HttpPortServices {
  readonly port: number;
  readonly services: readonly ModelService[];
  /** The mesh they belong to: where a policy's routes find their backends. */
  readonly mesh: MeshIndex;
  /** What routes read of the mesh (each service's kind), as a digest: equal digests, equal lookups. */
  readonly kinds: string;
}

/** The one route of the catch-all virtual host: everything to one cluster. */
function routeTo(cluster: string): Route {
  return { match: { prefix: '/' }, route: { cluster, timeout: ROUTE_TIMEOUT } };
}

const ALLOW_ANY: VirtualHost = { name: SIDECAR.allowAnyVirtualHost, domains: ['*'], routes: [routeTo(SIDECAR.passthroughCluster)] };

/**
 * The names a client in `namespace` may give a service port as its Host: FQDN, name.namespace.svc,
 * name.namespace, the short name in the service's own namespace, and the ClusterIP (unless
 * `withIP` is false) — each with and without the port.
 */
export function serviceDomains(service: ModelService, port: number, namespace: string, withIP = true): string[] {
  const hosts = [service.hostname, `${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}`];
  if (service.namespace === namespace) hosts.push(service.name);
  if (withIP && service.kind === 'ClusterIP' && service.clusterIP) hosts.push(hostOfIp(service.clusterIP));
  return sortedUnique(hosts.flatMap((h) => [h, `${h}:${port}`]));
}

/** A virtual host of the outbound routes, its policies' sources, and the problems found making it. */
interface MadeHost {
  readonly host: VirtualHost;
  readonly sources: readonly ObjectRef[];
  readonly errors: readonly Diagnostic[];
}

function virtualHost(service: ModelService, port: number, mesh: MeshIndex, domains: string[]): MadeHost {
  const name = outboundVirtualHost(service.hostname, port);
  const servicePort = service.ports.find((p) => p.port === port);
  if (!servicePort) return { host: { name, domains, routes: [routeTo(outboundCluster(service.hostname, port))] }, sources: [], errors: [] };
  const errors: Diagnostic[] = [];
  const ctx: RouteContext = { service, port: servicePort, target: 'sidecar', mesh };
  const filters = virtualHostFilterConfigs(ctx, errors);
  const host: VirtualHost = { name, domains, routes: serviceRoutes(ctx, errors), ...(filters ? { typed_per_filter_config: filters } : {}) };
  return { host, sources: routePolicySources(ctx), errors };
}

/**
 * What was made of each service (a routing view, below) for the route configurations: its domains
 * by (port, namespace is its own, with its IP), and its virtual hosts by (port, domains, the mesh's
 * kinds). A namespace's configurations are then put together again from what each service gave,
 * and a change to one service makes that service's parts again, not the whole mesh's.
 */
const madeFor = new WeakMap<ModelService, { readonly domains: Map<string, string[]>; readonly hosts: Map<string, MadeHost> }>();

function made(service: ModelService): { readonly domains: Map<string, string[]>; readonly hosts: Map<string, MadeHost> } {
  let m = madeFor.get(service);
  if (m === undefined) {
    m = { domains: new Map(), hosts: new Map() };
    madeFor.set(service, m);
  }
  return m;
}

function domainsOf(service: ModelService, port: number, namespace: string, withIP: boolean): string[] {
  const own = service.namespace === namespace;
  const key = `${port}|${own}|${withIP}`;
  const m = made(service);
  let domains = m.domains.get(key);
  if (domains === undefined) {
    domains = serviceDomains(service, port, namespace, withIP);
    m.domains.set(key, domains);
  }
  return domains;
}

function hostOf(service: ModelService, group: HttpPortServices, domains: string[]): MadeHost {
  const key = `${group.port}|${group.kinds}|${domains.join(' ')}`;
  const m = made(service);
  let host = m.hosts.get(key);
  if (host === undefined) {
    host = virtualHost(service, group.port, group.mesh, domains);
    m.hosts.set(key, host);
  }
  return host;
}

/** One port's route configuration, with the domains kept unique across its virtual hosts. */
function outboundRouteConfig(group: HttpPortServices, namespace: string, ipTaken: ReadonlySet<string>, errors: Diagnostic[]): DesiredResource<'route'> {
  const owner = new Map<string, string>([['*', SIDECAR.allowAnyVirtualHost]]);
  const hosts: VirtualHost[] = [ALLOW_ANY];
  const sources: ObjectRef[] = group.services.map((s) => s.source);
  for (const service of group.services) {
    const name = outboundVirtualHost(service.hostname, group.port);
    const wanted = domainsOf(service, group.port, namespace, ipTaken.size === 0 || !ipTaken.has(formatRef(service.source)));
    let taken = false;
    for (const domain of wanted) {
      const other = owner.get(domain);
      if (other === undefined) {
        owner.set(domain, name);
        continue;
      }
      taken = true;
      errors.push(
        translationError(
          service.source,
          undefined,
          `domain "${domain}" is already answered by virtual host ${other} of route ${outboundRoute(group.port)}; left out`,
        ),
      );
    }
    const domains = taken ? wanted.filter((d) => owner.get(d) === name) : wanted;
    if (domains.length === 0) continue;
    const vh = hostOf(service, group, domains);
    errors.push(...vh.errors);
    hosts.push(vh.host);
    sources.push(...vh.sources);
  }
  const name = outboundRoute(group.port);
  const message: RouteConfiguration = { name, virtual_hosts: byName(hosts), validate_clusters: { value: false } };
  return { name, message, sources: sortedRefs(sources) };
}

/**
 * The outbound route configurations of the sidecars of one namespace. `ipTaken` holds the services
 * (`Service ns/name`) whose ClusterIP another service already has: they answer to names only.
 */
export function outboundRoutes(
  groups: readonly HttpPortServices[],
  namespace: string,
  ipTaken: ReadonlySet<string>,
): { routes: DesiredResource<'route'>[]; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const routes = groups.map((g) => outboundRouteConfig(g, namespace, ipTaken, errors));
  return { routes: byName(routes), errors };
}

/** Keys that are not a service's routing: its endpoints (and a subset's) and its identities. */
const NOT_ROUTING = new Set(['endpoints', 'identities']);

/** What routing reads of a service, as text; a service that cannot be read is its own view (translating it reports why). */
function routingText(service: ModelService): string {
  try {
    return JSON.stringify(service, (k, v: unknown) => (NOT_ROUTING.has(k) ? undefined : v));
  } catch {
    return '';
  }
}

/**
 * Routing views: for each service, the object route translation is given — the very same one as
 * long as what routing reads of the service (everything but its endpoints and identities) stays the
 * same, so that an endpoint change leaves every route configuration as it was, found by identity.
 * Views are kept for the services of the last model asked about.
 */
export class RoutingViews {
  private byKey = new Map<string, { readonly view: ModelService; readonly text: string }>();
  private readonly viewOf = new WeakMap<ModelService, ModelService>();

  /**
   * Makes the views of `services`: a service seen before keeps its view (its routing text was
   * compared when it was first seen); a new one takes the view held for its name when its routing
   * text is the same, else is its own view.
   */
  update(services: readonly ModelService[]): void {
    for (const service of services) {
      if (this.viewOf.has(service)) continue;
      const key = `${service.namespace}/${service.name}`;
      const held = this.byKey.get(key);
      const text = routingText(service);
      const kept = held !== undefined && text !== '' && held.text === text ? held : { view: service, text };
      this.viewOf.set(service, kept.view);
      this.byKey.set(key, kept);
    }
    // More names than services: some are of services gone, which go too (a missing name costs only sharing).
    if (this.byKey.size <= services.length) return;
    const names = new Set(services.map((s) => `${s.namespace}/${s.name}`));
    for (const key of this.byKey.keys()) if (!names.has(key)) this.byKey.delete(key);
  }

  /** The view of a service given to update (itself for any other). */
  view(service: ModelService): ModelService {
    return this.viewOf.get(service) ?? service;
  }
}

/** The inline route configuration of one inbound HTTP port: any host, to the application. */
export function inboundRouteConfig(port: number): RouteConfiguration {
  return {
    name: inboundRoute(port),
    virtual_hosts: [{ name: inboundVirtualHost(port), domains: ['*'], routes: [routeTo(inboundCluster(port))] }],
    validate_clusters: { value: false },
  };
}
