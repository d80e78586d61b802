/**
 * Outbound sidecar listeners. The application's outbound connections are captured to
 * virtualOutbound (0.0.0.0:15001), which restores their original destination and hands each one
 * off to the listener bound (in name only: `bind_to_port: false`) to that destination:
 *
 *   <clusterIP>_<port>   a TCP service port: tcp_proxy to the service's cluster
 *   0.0.0.0_<port>       every HTTP service port of that number: HTTP connection manager, routes
 *                        over RDS (`<port>`, see routes.ts) choose the service by Host
 *   (none matched)       virtualOutbound's own default chain: tcp_proxy to PassthroughCluster
 *
 * Not given a TCP listener, and so passed through unchanged: headless TCP services (clients dial
 * pod IPs; the passthrough reaches the same pod) and ExternalName TCP services (no address to
 * match on; the client's connection to the resolved external address passes through as well).
 */
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import { SIDECAR_PORTS } from '../envoy/contract.js';
import type { DesiredResource } from '../envoy/resources.js';
import { outboundCluster, outboundHttpListener, outboundRoute, outboundTcpListener, SIDECAR } from './names.js';
import { httpConnectionManagerFilter, ORIGINAL_DST_FILTER, OUTBOUND_PASSTHROUGH_CHAIN, tcpProxyFilter } from './listeners-network.js';
import type { HttpPortServices } from './routes.js';
import { socketAddress, WILDCARD } from './common.js';
import { filterPolicySources } from './filters/index.js';
import type { PortContext } from './policy/types.js';
import { type ObjectRef, sortedRefs } from '../diagnostics.js';

/** The listener all outbound traffic is captured to. */
export function virtualOutbound(): DesiredResource<'listener'> {
  const name = SIDECAR.outboundListener;
  const message: Listener = {
    name,
    address: socketAddress(WILDCARD, SIDECAR_PORTS.outbound),
    use_original_dst: { value: true },
    traffic_direction: 'OUTBOUND',
    listener_filters: [ORIGINAL_DST_FILTER],
    default_filter_chain: OUTBOUND_PASSTHROUGH_CHAIN,
  };
  return { name, message, sources: [] };
}

/** The service ports numbered `group.port` its connection manager routes to. */
function routedPorts(group: HttpPortServices): PortContext[] {
  return group.services.flatMap((service) => service.ports.filter((p) => p.port === group.port).map((port) => ({ service, port, target: 'sidecar' }) as const));
}

/**
 * The listener of every HTTP service port numbered `group.port`. Its HTTP filters depend on the
 * policies of those ports (fault injection, local rate limit), which are among its sources.
 */
export function outboundHttpPortListener(group: HttpPortServices): DesiredResource<'listener'> {
  const name = outboundHttpListener(group.port);
  const services = routedPorts(group);
  const hcm = httpConnectionManagerFilter(`outbound_${name}`, { rds: outboundRoute(group.port) }, { direction: 'outbound', port: group.port, services });
  const message: Listener = {
    name,
    address: socketAddress(WILDCARD, group.port),
    bind_to_port: { value: false },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [hcm] }],
  };
  const policies = services.flatMap((s) => filterPolicySources(s));
  return { name, message, sources: sortedRefs([...group.services.map((s) => s.source), ...policies]) };
}

/** The listener of one TCP service port, on the service's ClusterIP. */
export function outboundTcpPortListener(clusterIP: string, port: number, hostname: string, source: ObjectRef): DesiredResource<'listener'> {
  const name = outboundTcpListener(clusterIP, port);
  const message: Listener = {
    name,
    address: socketAddress(clusterIP, port),
    bind_to_port: { value: false },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [tcpProxyFilter(outboundCluster(hostname, port))] }],
  };
  return { name, message, sources: [source] };
}
