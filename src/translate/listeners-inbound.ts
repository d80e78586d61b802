/**
 * virtualInbound (0.0.0.0:15006): the listener inbound connections are captured to. It restores
 * their original destination and picks a filter chain by destination port, one per port of the
 * proxy's workload, each delivering to `inbound|<port>||` (the application on 127.0.0.1):
 * HTTP ports through an HTTP connection manager with an inline route, TCP ports through tcp_proxy.
 * Any other port falls to the default chain, a tcp_proxy to InboundPassthroughCluster.
 *
 * Ports the sidecar itself serves (15001, 15006, 15021, 15090) are never captured and get no chain.
 *
 * The access log and tracing of an HTTP port's connection manager come from the policies of the
 * service ports that target it (policy/observability.ts): the server side logs what it receives.
 *
 * With mutual TLS (mtls.ts), a STRICT port's chain requires a client certificate; a PERMISSIVE port
 * has an mTLS chain (matched on TLS with ALPN `trellis`, the listener gains tls_inspector) beside its
 * plaintext one; with --mtls-mode STRICT the passthrough chain requires mTLS as well.
 *
 * Authorization (authorization.ts) is enforced on each port's chains: HTTP ports by the RBAC HTTP
 * filters of the connection manager (filters/authorization.ts), whose paths are normalized first
 * when a rule matches paths; TCP ports by the RBAC network filters, DENY then ALLOW, before
 * tcp_proxy. The passthrough chain has none: no service names the ports it carries.
 */
import { type Diagnostic, formatRef, type ObjectRef, sortedRefs } from '../diagnostics.js';
import type { Filter } from '../envoy/generated/envoy/config/listener/v3/Filter.js';
import type { FilterChain } from '../envoy/generated/envoy/config/listener/v3/FilterChain.js';
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import type { MeshModel, ModelService, ModelServicePort, ModelWorkload, WorkloadPort } from '../model/types.js';
import { SIDECAR_PORTS } from '../envoy/contract.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inboundPassthroughCluster, inboundPortCluster } from './clusters.js';
import {
  httpConnectionManagerFilter,
  INBOUND_PASSTHROUGH_CHAIN,
  networkRbacFilters,
  NORMALIZED_PATHS,
  ORIGINAL_DST_FILTER,
  tcpProxyFilter,
} from './listeners-network.js';
import { inboundCluster, inboundFilterChain, inboundMtlsFilterChain, SIDECAR } from './names.js';
import { inboundChains, sidecarInboundTls, TLS_INSPECTOR_FILTER, withMtlsSources } from './mtls.js';
import { inboundRouteConfig } from './routes.js';
import { isHttp, RESERVED_PORTS, socketAddress, WILDCARD } from './common.js';
import { translationError } from './translation.js';
import { inboundObservability, tcpObservabilityNotes } from './policy/observability.js';
import type { PortContext } from './policy/types.js';
import { authorizationSources, matchesPaths, portAuthorization } from './authorization.js';

export interface Inbound {
  readonly listener: DesiredResource<'listener'>;
  readonly clusters: readonly DesiredResource<'cluster'>[];
  readonly errors: readonly Diagnostic[];
}

/**
 * The workload's ports, one per number, sorted. A number declared twice with different protocols
 * keeps the first declaration (the model's order) and is an error.
 */
export function inboundPorts(workload: ModelWorkload, errors: Diagnostic[]): WorkloadPort[] {
  const byPort = new Map<number, WorkloadPort>();
  for (const port of workload.ports) {
    if (RESERVED_PORTS.has(port.port)) continue;
    const first = byPort.get(port.port);
    if (!first) byPort.set(port.port, port);
    else if (first.protocol !== port.protocol) {
      errors.push(
        translationError(
          workload.source,
          undefined,
          `port ${port.port} is declared as ${first.protocol} and as ${port.protocol}; inbound traffic on it is handled as ${first.protocol}`,
        ),
      );
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/**
 * The workload port a service port sends its traffic to: its targetPort when a number; when a
 * name, the port of this pod's endpoint (the EndpointSlice resolved it), else the workload port of
 * that name.
 */
function targetOn(workload: ModelWorkload, port: ModelServicePort): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  const pod = `${workload.namespace}/${workload.name}`;
  return port.endpoints.find((e) => e.pod === pod)?.port ?? workload.ports.find((p) => p.name === port.targetPort)?.port;
}

/** The service ports of the services selecting the workload, by the workload port they target. */
export function servicePortsByTarget(workload: ModelWorkload, services: readonly ModelService[]): Map<number, PortContext[]> {
  const selecting = new Set(workload.services);
  const byTarget = new Map<number, PortContext[]>();
  for (const service of services) {
    if (!selecting.has(`${service.namespace}/${service.name}`)) continue;
    for (const port of service.ports) {
      const target = targetOn(workload, port);
      if (target === undefined) continue;
      byTarget.set(target, [...(byTarget.get(target) ?? []), { service, port, target: 'sidecar' }]);
    }
  }
  return byTarget;
}

/** What one port's chains are made of (one, or two with PERMISSIVE mTLS), and what its services' policies add to the listener. */
interface Chain {
  readonly chains: readonly FilterChain[];
  readonly sources: readonly ObjectRef[];
}

/** The security of the model: the trust domain, and mTLS when on. */
export type InboundSecurity = Pick<MeshModel, 'trustDomain' | 'mtls'>;

function inboundChain(port: WorkloadPort, services: readonly PortContext[], where: string, security: InboundSecurity, errors: Diagnostic[]): Chain {
  const chains = (filters: Filter[]): FilterChain[] =>
    inboundChains(
      { name: inboundFilterChain(port.port), filter_chain_match: { destination_port: { value: port.port } }, filters },
      inboundMtlsFilterChain(port.port),
      port.mtls,
      port.protocol,
      security.trustDomain,
    );
  const policySources = sortedRefs([...(port.mtls ? withMtlsSources([], services) : []), ...authorizationSources(services)]);
  const http = isHttp(port.protocol);
  const authz = portAuthorization(services, security.trustDomain, http, where);
  errors.push(...(authz?.errors ?? []));
  if (!http) {
    for (const s of services) errors.push(...tcpObservabilityNotes(s, where));
    return { chains: chains([...networkRbacFilters(authz, port.port), tcpProxyFilter(inboundCluster(port.port))]), sources: policySources };
  }
  const o = inboundObservability(services, where);
  errors.push(...o.errors);
  const context = { direction: 'inbound', port: port.port, services, trustDomain: security.trustDomain } as const;
  const fields = { ...(matchesPaths(services) ? NORMALIZED_PATHS : {}), ...o.fields };
  const hcm = httpConnectionManagerFilter(`inbound_${WILDCARD}_${port.port}`, { inline: inboundRouteConfig(port.port) }, context, fields);
  return { chains: chains([hcm]), sources: [...o.sources, ...policySources] };
}

/** The chain of ports nothing declares: passthrough, requiring mTLS when --mtls-mode is STRICT. */
function passthroughChain(security: InboundSecurity): FilterChain {
  if (security.mtls?.defaultMode !== 'STRICT') return INBOUND_PASSTHROUGH_CHAIN;
  return { ...INBOUND_PASSTHROUGH_CHAIN, transport_socket: sidecarInboundTls(undefined, security.trustDomain) };
}

/**
 * virtualInbound and the clusters it delivers to, for the proxy's workload (none: passthrough
 * only). `services`: the model's, for the policies of those selecting the workload (observability,
 * the mTLS mode's sources); `security`: the model's trust domain and mTLS (absent: off).
 */
export function inbound(workload: ModelWorkload | undefined, services: readonly ModelService[] = [], security: InboundSecurity = { trustDomain: '' }): Inbound {
  const errors: Diagnostic[] = [];
  const ports = workload ? inboundPorts(workload, errors) : [];
  const sources = workload ? [workload.source] : [];
  const targets = workload ? servicePortsByTarget(workload, services) : new Map<number, PortContext[]>();
  const where = (p: WorkloadPort) => `port ${p.port} of ${workload ? formatRef(workload.source) : 'the workload'}`;
  const chains = ports.map((p) => inboundChain(p, targets.get(p.port) ?? [], where(p), security, errors));
  const name = SIDECAR.inboundListener;
  const message: Listener = {
    name,
    address: socketAddress(WILDCARD, SIDECAR_PORTS.inbound),
    traffic_direction: 'INBOUND',
    listener_filters: ports.some((p) => p.mtls === 'PERMISSIVE') ? [ORIGINAL_DST_FILTER, TLS_INSPECTOR_FILTER] : [ORIGINAL_DST_FILTER],
    filter_chains: chains.flatMap((c) => c.chains),
    default_filter_chain: passthroughChain(security),
  };
  const clusters = [inboundPassthroughCluster(), ...ports.map((p) => inboundPortCluster(p, sources))];
  const listenerSources = sortedRefs([...sources, ...chains.flatMap((c) => c.sources)]);
  return { listener: { name, message, sources: listenerSources }, clusters, errors };
}
