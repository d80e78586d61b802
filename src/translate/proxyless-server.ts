/**
 * Listeners for xDS-enabled gRPC servers (gRFC A36). A server listening on ip:port asks for the
 * listener `serverListener(ip, port)` and serves only once it has one whose socket_address is
 * exactly ip:port, with one filter chain holding one HTTP connection manager whose routes carry
 * `non_forwarding_action` (a server routes to itself).
 *
 * Which ip:port pairs: every endpoint of every gRPC-capable service port in the namespace, and
 * every gRPC-capable port of every workload (pod) in it. The workloads matter: a pod that is not
 * ready yet is in no endpoint list, and an xDS server does not serve before its listener arrives;
 * were endpoints the only source, a pod whose readiness depends on serving would never get ready.
 *
 * The HTTP filters come from the ordered list like every other connection manager's, and for a
 * gRPC server that is the router alone: grpc-js-xds servers implement no policy filter of Trellis
 * (its fault filter is client-only; a server rejects a listener naming it), and no access log or
 * tracing configuration. A policy's observability is reported as not implemented by proxyless gRPC
 * (policy/observability.ts, through the client-side virtual host hook).
 */
import { typed } from '../envoy/codec.js';
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import type { HttpConnectionManager } from '../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { MeshModel } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inboundCluster, inboundRoute, inboundVirtualHost, serverListener } from './names.js';
import { FILTER_NAME, MESSAGE } from './common.js';
import { httpFilters } from './filters/index.js';
import { isGrpcPort, isIpLiteral } from './proxyless-common.js';
import { byName } from './translation.js';
import { type ObjectRef, sortedRefs } from '../diagnostics.js';

interface Bind {
  readonly address: string;
  readonly port: number;
  readonly sources: ObjectRef[];
}

function serverHcm(port: number): HttpConnectionManager {
  return {
    stat_prefix: inboundCluster(port),
    route_config: {
      name: inboundRoute(port),
      virtual_hosts: [{ name: inboundVirtualHost(port), domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
    },
    http_filters: httpFilters({ direction: 'inbound', port, target: 'proxyless' }),
  };
}

/** The listener an xDS-enabled gRPC server bound to address:port receives. */
export function grpcServerListener(address: string, port: number): Listener {
  return {
    name: serverListener(address, port),
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{ filters: [{ name: FILTER_NAME.httpConnectionManager, typed_config: typed(MESSAGE.httpConnectionManager, serverHcm(port)) }] }],
  };
}

function collect(binds: Map<string, Bind>, address: string, port: number, sources: readonly ObjectRef[]): void {
  if (!isIpLiteral(address)) return;
  const key = `${address}|${port}`;
  const bind = binds.get(key) ?? { address, port, sources: [] };
  bind.sources.push(...sources);
  binds.set(key, bind);
}

/** The server listeners of one namespace, one per ip:port however many services share it, sorted by name. */
export function proxylessServerListeners(model: MeshModel, namespace: string): DesiredResource<'listener'>[] {
  const binds = new Map<string, Bind>();
  for (const service of model.services) {
    if (service.namespace !== namespace) continue;
    for (const port of service.ports.filter(isGrpcPort)) {
      for (const e of port.endpoints) collect(binds, e.address, e.port, [service.source, e.source]);
    }
  }
  for (const workload of model.workloads) {
    if (workload.namespace !== namespace) continue;
    for (const port of workload.ports.filter(isGrpcPort)) collect(binds, workload.ip, port.port, [workload.source]);
  }
  return byName(
    [...binds.values()].map((b) => ({
      name: serverListener(b.address, b.port),
      message: grpcServerListener(b.address, b.port),
      sources: sortedRefs(b.sources),
    })),
  );
}
