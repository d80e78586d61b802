/**
 * The listener on the sidecar's probe port (15020) that answers the application's rewritten probes
 * (src/inject/probes.ts), from static resources so that probes work before, and without, the
 * control plane: `/app-health/<container>/<kind>` goes to the application on 127.0.0.1.
 *
 * - an httpGet probe is routed to its port with its original path (the whole path is rewritten),
 *   scheme (HTTPS: TLS to the application, unverified, as kubelet does) and headers;
 * - a tcpSocket or grpc probe is answered by Envoy's health check filter from the health of a
 *   one-host cluster that Envoy checks actively at the probe's period (a TCP connect; gRPC's
 *   health service with the probe's service name).
 */
import { hostPortCluster } from './static.js';

export type AppProbeCheck =
  | {
      readonly kind: 'http';
      readonly path: string;
      readonly scheme: 'HTTP' | 'HTTPS';
      readonly headers: readonly { readonly name: string; readonly value: string }[];
    }
  | { readonly kind: 'tcp'; readonly intervalSeconds: number; readonly timeoutSeconds: number }
  | { readonly kind: 'grpc'; readonly service: string; readonly intervalSeconds: number; readonly timeoutSeconds: number };

export interface AppProbe {
  /** The path kubelet asks for on the probe port. */
  readonly path: string;
  /** The application's port on 127.0.0.1. */
  readonly port: number;
  readonly check: AppProbeCheck;
}

type Json = Record<string, unknown>;

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** The cluster a probe reaches its application through; one per port and scheme for httpGet probes, one per probe for health checks. */
export function probeClusterName(probe: AppProbe): string {
  return probe.check.kind === 'http' ? `probe|${probe.port}|${probe.check.scheme.toLowerCase()}` : `probe|${probe.path}`;
}

function activeHealthCheck(probe: AppProbe): Json[] {
  const { check } = probe;
  if (check.kind === 'http') return [];
  const common = {
    timeout: `${check.timeoutSeconds}s`,
    interval: `${check.intervalSeconds}s`,
    unhealthy_threshold: 1,
    healthy_threshold: 1,
    no_traffic_interval: `${check.intervalSeconds}s`,
  };
  return [check.kind === 'tcp' ? { ...common, tcp_health_check: {} } : { ...common, grpc_health_check: { service_name: check.service } }];
}

function probeCluster(probe: AppProbe): Json {
  const cluster: Json = hostPortCluster(probeClusterName(probe), '127.0.0.1', probe.port, probe.check.kind === 'grpc');
  const health = activeHealthCheck(probe);
  if (health.length > 0) cluster.health_checks = health;
  if (probe.check.kind === 'http' && probe.check.scheme === 'HTTPS') {
    cluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' },
    };
  }
  return cluster;
}

function healthCheckFilter(probe: AppProbe): Json {
  return {
    name: 'envoy.filters.http.health_check',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
      pass_through_mode: false,
      headers: [{ name: ':path', string_match: { exact: probe.path } }],
      cluster_min_healthy_percentages: { [probeClusterName(probe)]: { value: 100 } },
    },
  };
}

function httpRoute(probe: AppProbe & { check: { kind: 'http' } }): Json {
  const route: Json = {
    match: { path: probe.path },
    route: { cluster: probeClusterName(probe), prefix_rewrite: probe.check.path },
  };
  if (probe.check.headers.length > 0) {
    route.request_headers_to_add = probe.check.headers.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));
  }
  return route;
}

const isHttp = (p: AppProbe): p is AppProbe & { check: { kind: 'http' } } => p.check.kind === 'http';

/** The probe listener on `port` and the clusters it routes to (none when there are no probes). */
export function probeResources(probes: readonly AppProbe[], port: number): { listeners: Json[]; clusters: Json[] } {
  if (probes.length === 0) return { listeners: [], clusters: [] };
  const clusters = new Map<string, Json>();
  for (const p of probes) if (!clusters.has(probeClusterName(p))) clusters.set(probeClusterName(p), probeCluster(p));
  const listener = {
    name: 'app-probes',
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'app_probes',
              route_config: {
                name: 'app-probes',
                virtual_hosts: [{ name: 'app-probes', domains: ['*'], routes: probes.filter(isHttp).map(httpRoute) }],
              },
              http_filters: [...probes.filter((p) => !isHttp(p)).map(healthCheckFilter), ROUTER],
            },
          },
        ],
      },
    ],
  };
  return { listeners: [listener], clusters: [...clusters.values()] };
}
