/**
 * What injection is told rather than what it reads from the Pod: the images, where proxies reach
 * Trellis, whether they authenticate, and the API server's support of native sidecars. The names
 * of everything injection adds live here too: they are part of the API (`trellis.dev/status`,
 * `kubectl logs -c trellis-proxy`).
 */
import { PROXY_UID, SIDECAR_PORTS } from '../envoy/contract.js';

/** A pinned Envoy release (https://github.com/envoyproxy/envoy/releases/tag/v1.34.1). */
export const DEFAULT_ENVOY_IMAGE = 'envoyproxy/envoy:v1.34.1';
/** Trellis's own image, which runs `trellis capture` in the init container. */
export const DEFAULT_TRELLIS_IMAGE = 'ghcr.io/trellis-mesh/trellis:0.1.0';
/** Where sidecars reach Trellis: the chart's Service, plaintext port. */
export const DEFAULT_XDS_ADDRESS = { host: 'trellis.trellis-system.svc', port: 15010 } as const;
/** The namespace the chart installs Trellis in by default (and `--lease-namespace`'s default). */
export const DEFAULT_NAMESPACE = 'trellis-system';
/** The chart's Service, secure port (authenticated xDS). */
export const DEFAULT_XDS_SECURE_PORT = 15012;

/** Where injected sidecars reach Trellis by default: the chart's Service in `namespace`, the secure port when they authenticate. */
export function defaultXdsAddress(namespace: string, secure: boolean): { host: string; port: number } {
  return { host: `trellis.${namespace}.svc`, port: secure ? DEFAULT_XDS_SECURE_PORT : DEFAULT_XDS_ADDRESS.port };
}

/** Compute resources as Kubernetes writes them. */
export interface Resources {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

export interface InjectSettings {
  readonly envoyImage: string;
  readonly trellisImage: string;
  readonly xdsAddress: { readonly host: string; readonly port: number };
  /** Trellis's secure xDS port: proxies send a projected token and verify Trellis against the ROOTCA ConfigMap. */
  readonly secureXds: boolean;
  /** The API server is 1.29 or later: Envoy is a native sidecar unless the Pod's annotation says otherwise. */
  readonly nativeSidecars: boolean;
  readonly proxyResources: Resources;
}

export const DEFAULT_SETTINGS: InjectSettings = {
  envoyImage: DEFAULT_ENVOY_IMAGE,
  trellisImage: DEFAULT_TRELLIS_IMAGE,
  xdsAddress: DEFAULT_XDS_ADDRESS,
  secureXds: false,
  nativeSidecars: true,
  proxyResources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
};

/** Labels and annotations that steer injection. */
export const LABEL_INJECT = 'trellis.dev/inject';
export const NAMESPACE_INJECT_VALUE = 'enabled';
export const ANNOTATIONS = {
  excludeInboundPorts: 'trellis.dev/exclude-inbound-ports',
  excludeOutboundPorts: 'trellis.dev/exclude-outbound-ports',
  excludeOutboundCidrs: 'trellis.dev/exclude-outbound-cidrs',
  rewriteProbes: 'trellis.dev/rewrite-probes',
  nativeSidecar: 'trellis.dev/native-sidecar',
  status: 'trellis.dev/status',
} as const;
/** Which container `kubectl logs` and `kubectl exec` pick without -c. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** The names of what injection adds to a Pod. */
export const NAMES = {
  proxy: 'trellis-proxy',
  capture: 'trellis-capture',
  tokenVolume: 'trellis-token',
  rootCertVolume: 'trellis-ca-root-cert',
} as const;

/** The ConfigMap Trellis publishes its trust bundle in (src/certs/publish.ts) and its key. */
export const ROOT_CERT_CONFIGMAP = 'trellis-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';
export const ROOT_CERT_DIR = '/var/run/secrets/trellis';
export const TOKEN_DIR = '/var/run/secrets/tokens';
export const TOKEN_PATH = 'trellis-token';
export const TOKEN_AUDIENCE = 'trellis';

export { PROXY_UID, SIDECAR_PORTS };
