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

/** The services that have an HTTP port of one number (and a cluster for it), in model order. */
export interface HttpPortServices {
  readonly port: number;
  readonly services: readonly ModelService[];
  /** The mesh they belong to: where a policy's routes find their backends. */
  readonly mesh: MeshIndex;
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

function virtualHost(
  service: ModelService,
  port: number,
  mesh: MeshIndex,
  domains: string[],
  errors: Diagnostic[],
): { host: VirtualHost; sources: ObjectRef[] } {
  const name = outboundVirtualHost(service.hostname, port);
  const servicePort = service.ports.find((p) => p.port === port);
  if (!servicePort) return { host: { name, domains, routes: [routeTo(outboundCluster(service.hostname, port))] }, sources: [] };
  const ctx: RouteContext = { service, port: servicePort, target: 'sidecar', mesh };
  const filters = virtualHostFilterConfigs(ctx, errors);
  const host: VirtualHost = { name, domains, routes: serviceRoutes(ctx, errors), ...(filters ? { typed_per_filter_config: filters } : {}) };
  return { host, sources: routePolicySources(ctx) };
}

/** One port's route configuration, with the domains kept unique across its virtual hosts. */
function outboundRouteConfig(group: HttpPortServices, namespace: string, ipTaken: ReadonlySet<string>, errors: Diagnostic[]): DesiredResource<'route'> {
  const owner = new Map<string, string>([['*', SIDECAR.allowAnyVirtualHost]]);
  const hosts: VirtualHost[] = [ALLOW_ANY];
  const sources: ObjectRef[] = group.services.map((s) => s.source);
  for (const service of group.services) {
    const name = outboundVirtualHost(service.hostname, group.port);
    const domains: string[] = [];
    for (const domain of serviceDomains(service, group.port, namespace, !ipTaken.has(formatRef(service.source)))) {
      const other = owner.get(domain);
      if (other === undefined) {
        owner.set(domain, name);
        domains.push(domain);
      } else {
        errors.push(
          translationError(
            service.source,
            undefined,
            `domain "${domain}" is already answered by virtual host ${other} of route ${outboundRoute(group.port)}; left out`,
          ),
        );
      }
    }
    if (domains.length === 0) continue;
    const vh = virtualHost(service, group.port, group.mesh, domains, errors);
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

/** The inline route configuration of one inbound HTTP port: any host, to the application. */
export function inboundRouteConfig(port: number): RouteConfiguration {
  return {
    name: inboundRoute(port),
    virtual_hosts: [{ name: inboundVirtualHost(port), domains: ['*'], routes: [routeTo(inboundCluster(port))] }],
    validate_clusters: { value: false },
  };
}
