/**
 * What Trellis and its proxies agree on before they first talk, in one place: the bootstrap
 * (src/bootstrap) writes it into every proxy's configuration, translation and the xDS server read
 * it back. A leaf module: it imports nothing.
 *
 * node.metadata keys (how a proxy says what it is; see translate/proxy.ts for how they classify it),
 * the ports of an Envoy sidecar (the shape operators know from Istio), and the listener name a
 * proxyless gRPC server asks for (gRFC A36).
 */

/** An Envoy sidecar, or a proxyless gRPC application. */
export type ProxyMode = 'sidecar' | 'proxyless';

/** The node.metadata keys a bootstrap sets, by what they hold (in the order bootstraps write them). */
export const NODE_METADATA = {
  mode: 'PROXY_MODE',
  namespace: 'NAMESPACE',
  pod: 'POD_NAME',
  ip: 'INSTANCE_IP',
  serviceAccount: 'SERVICE_ACCOUNT',
} as const;

/** The fixed ports of an Envoy sidecar. */
export const SIDECAR_PORTS = {
  /** virtualOutbound: outbound traffic is captured to it, its original destination kept. */
  outbound: 15001,
  /** virtualInbound: inbound traffic is captured to it, its original destination kept. */
  inbound: 15006,
  /** Envoy's admin API, on 127.0.0.1 only. */
  admin: 15000,
  /** Prometheus stats (`/stats/prometheus`). */
  stats: 15090,
  /** The readiness probe (`/healthz/ready`, Envoy's `/ready`). */
  health: 15021,
  /** The application's rewritten probes (`/app-health/<container>/livez|readyz|startupz`), routed to 127.0.0.1. */
  probes: 15020,
} as const;

/** The user the sidecar runs as: its own traffic is never captured. */
export const PROXY_UID = 1337;

/** The listener template a proxyless gRPC server's bootstrap names; `%s` becomes the `ip:port` it listens on. */
export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/**
 * Workload certificates, as proxies find them (mutual TLS). An Envoy sidecar receives two SDS
 * Secrets over ADS, named here: its workload's certificate chain and key, and the trust bundle;
 * translation only names them (so its resources stay shared between proxies), the xDS server fills
 * them per proxy. Proxyless gRPC (gRFC A29) does not use SDS: its resources name a certificate
 * provider instance that its bootstrap's `certificate_providers` defines (`file_watcher` on the
 * certificate, key and roots), holding both the identity and the roots.
 */
export const SDS_SECRET = {
  /** The workload's certificate chain and private key. */
  certificate: 'default',
  /** The root certificates a peer's certificate must chain to. */
  trustBundle: 'ROOTCA',
} as const;

/** The bootstrap `certificate_providers` instance a proxyless gRPC application must define for mutual TLS. */
export const CERTIFICATE_PROVIDER_INSTANCE = 'default';
