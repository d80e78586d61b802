/**
 * What every Envoy resource Trellis emits shares, sidecar or proxyless: the message and filter names it
 * packs, the ADS config source, the timeouts, and which ports speak HTTP. Decided here, once.
 */
import type { Address } from '../envoy/generated/envoy/config/core/v3/Address.js';
import type { ConfigSource } from '../envoy/generated/envoy/config/core/v3/ConfigSource.js';
import type { Duration } from '../envoy/generated/google/protobuf/Duration.js';
import type { AppProtocol } from '../model/types.js';
import { SIDECAR_PORTS } from '../envoy/contract.js';

/** Message types packed into Anys. Each one's file is loaded in src/envoy/protos.ts. */
export const MESSAGE = {
  httpConnectionManager: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  router: 'envoy.extensions.filters.http.router.v3.Router',
  fault: 'envoy.extensions.filters.http.fault.v3.HTTPFault',
  localRateLimit: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  httpRbac: 'envoy.extensions.filters.http.rbac.v3.RBAC',
  networkRbac: 'envoy.extensions.filters.network.rbac.v3.RBAC',
  stdoutAccessLog: 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  originalDst: 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  tlsInspector: 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  upstreamTlsContext: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTlsContext: 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  upstreamHttpProtocolOptions: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

/** Envoy's well-known names of the filters Trellis configures. */
export const FILTER_NAME = {
  httpConnectionManager: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  fault: 'envoy.filters.http.fault',
  localRateLimit: 'envoy.filters.http.local_ratelimit',
  /** Two RBAC HTTP filters (envoy.filters.http.rbac) in one connection manager: gRPC wants their names to differ. */
  httpRbacDeny: 'envoy.filters.http.rbac.deny',
  httpRbacAllow: 'envoy.filters.http.rbac.allow',
  /** The RBAC network filter (envoy.filters.network.rbac) of TCP ports, DENY and ALLOW. */
  networkRbacDeny: 'envoy.filters.network.rbac.deny',
  networkRbacAllow: 'envoy.filters.network.rbac.allow',
  router: 'envoy.filters.http.router',
  stdoutAccessLog: 'envoy.access_loggers.stdout',
  originalDst: 'envoy.filters.listener.original_dst',
  tlsInspector: 'envoy.filters.listener.tls_inspector',
  /** A transport socket, not a filter: gRPC takes only this name for TLS (gRFC A29). */
  tlsTransportSocket: 'envoy.transport_sockets.tls',
} as const;

/** Resources of another type are fetched over the same ADS stream. */
export const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: 'V3' };

/** How long an upstream connection may take to establish, for every cluster Trellis emits. */
export const CONNECT_TIMEOUT: Duration = { seconds: 10 };

/**
 * Route timeout: 0 disables it (Envoy's default is 15 s). gRPC streams, server-sent events and
 * long polls would be cut at 15 s otherwise; Istio makes the same choice. Per-route timeouts are
 * for a policy to set.
 */
export const ROUTE_TIMEOUT: Duration = { seconds: 0 };

/** Listeners bind to every IPv4 address; the outbound ones only receive hand-offs from virtualOutbound. */
export const WILDCARD = '0.0.0.0';

/** Where the inbound clusters deliver: the application, on the loopback interface. */
export const LOCALHOST = '127.0.0.1';

/**
 * Ports on which the sidecar itself listens on 0.0.0.0 (virtualOutbound, virtualInbound, and the
 * bootstrap's stats, health and injected probe listeners). A per-port listener on 0.0.0.0 there would clash.
 */
export const RESERVED_PORTS: ReadonlySet<number> = new Set([
  SIDECAR_PORTS.outbound,
  SIDECAR_PORTS.inbound,
  SIDECAR_PORTS.stats,
  SIDECAR_PORTS.health,
  SIDECAR_PORTS.probes,
]);

/** http, http2 and grpc ports go through an HTTP connection manager; tcp ports through tcp_proxy. */
export function isHttp(protocol: AppProtocol): boolean {
  return protocol !== 'tcp';
}

/** Ports whose upstream must be spoken to in HTTP/2. */
export function isHttp2(protocol: AppProtocol): boolean {
  return protocol === 'http2' || protocol === 'grpc';
}

export function socketAddress(address: string, port: number): Address {
  return { socket_address: { address, port_value: port } };
}

/** The Host header form of an IP: IPv6 literals in brackets. */
export function hostOfIp(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
