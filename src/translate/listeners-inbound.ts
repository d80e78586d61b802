/**
 * virtualInbound (0.0.0.0:15006): the listener inbound connections are captured to. It restores
 * their original destination and picks a filter chain by destination port, one per port of the
 * proxy's workload, each delivering to `inbound|<port>||` (the application on 127.0.0.1):
 * HTTP ports through an HTTP connection manager with an inline route, TCP ports through tcp_proxy.
 * Any other port falls to the default chain, a tcp_proxy to InboundPassthroughCluster.
 *
 * Ports the sidecar itself serves (15001, 15006, 15021, 15090) are never captured and get no chain.
 */
import type { FilterChain } from '../envoy/generated/envoy/config/listener/v3/FilterChain.js';
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import type { ModelWorkload, WorkloadPort } from '../model/types.js';
import type { DesiredResource } from '../xds/cache.js';
import { inboundPassthroughCluster, inboundPortCluster } from './clusters.js';
import { httpConnectionManagerFilter, INBOUND_PASSTHROUGH_CHAIN, ORIGINAL_DST_FILTER, tcpProxyFilter } from './listeners-network.js';
import { inboundCluster, inboundFilterChain, SIDECAR } from './names.js';
import { inboundRouteConfig } from './routes.js';
import { isHttp, RESERVED_PORTS, socketAddress, WILDCARD } from './common.js';
import type { TranslationError } from './translation.js';

export interface Inbound {
  readonly listener: DesiredResource<'listener'>;
  readonly clusters: readonly DesiredResource<'cluster'>[];
  readonly errors: readonly TranslationError[];
}

/**
 * The workload's ports, one per number, sorted. A number declared twice with different protocols
 * keeps the first declaration (the model's order) and is an error.
 */
export function inboundPorts(workload: ModelWorkload, errors: TranslationError[]): WorkloadPort[] {
  const byPort = new Map<number, WorkloadPort>();
  for (const port of workload.ports) {
    if (RESERVED_PORTS.has(port.port)) continue;
    const first = byPort.get(port.port);
    if (!first) byPort.set(port.port, port);
    else if (first.protocol !== port.protocol) {
      errors.push({
        object: workload.source,
        message: `port ${port.port} is declared as ${first.protocol} and as ${port.protocol}; inbound traffic on it is handled as ${first.protocol}`,
      });
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

function inboundChain(port: WorkloadPort): FilterChain {
  const cluster = inboundCluster(port.port);
  const filter = isHttp(port.protocol)
    ? httpConnectionManagerFilter(`inbound_${WILDCARD}_${port.port}`, { inline: inboundRouteConfig(port.port) }, { direction: 'inbound', port: port.port })
    : tcpProxyFilter(cluster);
  return { name: inboundFilterChain(port.port), filter_chain_match: { destination_port: { value: port.port } }, filters: [filter] };
}

/** virtualInbound and the clusters it delivers to, for the proxy's workload (none: passthrough only). */
export function inbound(workload: ModelWorkload | undefined): Inbound {
  const errors: TranslationError[] = [];
  const ports = workload ? inboundPorts(workload, errors) : [];
  const sources = workload ? [workload.source] : [];
  const name = SIDECAR.inboundListener;
  const message: Listener = {
    name,
    address: socketAddress(WILDCARD, SIDECAR.inboundPort),
    traffic_direction: 'INBOUND',
    listener_filters: [ORIGINAL_DST_FILTER],
    filter_chains: ports.map(inboundChain),
    default_filter_chain: INBOUND_PASSTHROUGH_CHAIN,
  };
  const clusters = [inboundPassthroughCluster(), ...ports.map((p) => inboundPortCluster(p, sources))];
  return { listener: { name, message, sources }, clusters, errors };
}
