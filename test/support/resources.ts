/**
 * Small Envoy resources for protocol tests, built as the translator will build them.
 */
import { typed } from '../../src/envoy/codec.ts';
import { TypeUrl, type ResourceKind } from '../../src/envoy/types.ts';
import type { DesiredResource } from '../../src/envoy/resources.ts';
import type { DesiredSnapshot } from '../../src/xds/cache.ts';

export const CDS = TypeUrl.cluster;
export const EDS = TypeUrl.endpoint;
export const LDS = TypeUrl.listener;
export const RDS = TypeUrl.route;
export const SDS = TypeUrl.secret;

export function cluster(name: string, timeoutSeconds = 1): DesiredResource<'cluster'> {
  return {
    name,
    message: {
      name,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      connect_timeout: { seconds: timeoutSeconds },
    },
    sources: [{ kind: 'Service', namespace: 'default', name }],
  };
}

export function endpoints(name: string, ports: number[], zone = 'zone-a'): DesiredResource<'endpoint'> {
  return {
    name,
    message: {
      cluster_name: name,
      endpoints: [
        {
          locality: { region: 'local', zone },
          load_balancing_weight: { value: 1 },
          lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })),
        },
      ],
    },
    sources: [{ kind: 'EndpointSlice', namespace: 'default', name }],
  };
}

export function route(name: string, clusterName: string, domain = name): DesiredResource<'route'> {
  return {
    name,
    message: {
      name,
      virtual_hosts: [{ name, domains: [domain], routes: [{ match: { prefix: '' }, route: { cluster: clusterName } }] }],
    },
  };
}

export function apiListener(name: string, routeName = name): DesiredResource<'listener'> {
  return {
    name,
    message: {
      name,
      api_listener: {
        api_listener: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
          stat_prefix: name,
          rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}) }],
        }),
      },
    },
  };
}

/** A whole mesh of `n` services named s0..s(n-1), each with a cluster, endpoints, route and listener. */
export function meshOf(n: number, portBase = 10000): Required<{ [K in ResourceKind]: DesiredResource<K>[] }> {
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  return {
    secret: [],
    cluster: names.map((s) => cluster(s)),
    endpoint: names.map((s, i) => endpoints(s, [portBase + i])),
    listener: names.map((s) => apiListener(s)),
    route: names.map((s) => route(s, s)),
  };
}

export type { DesiredSnapshot };
