/**
 * How a proxy identifies itself, decided once. The bootstrap Trellis renders sets node.id and
 * these node.metadata keys; classification reads them back. A proxy class is the set of proxies
 * that receive the same configuration: translation runs once per class, not once per proxy.
 *
 *   node.id                  <pod>.<namespace>         (unique per proxy; what /debug shows)
 *   node.cluster             <service-account>.<namespace>
 *   node.metadata
 *     PROXY_MODE             sidecar | proxyless       (Envoy sidecar, or a proxyless gRPC application)
 *     NAMESPACE              the pod's namespace
 *     POD_NAME               the pod's name
 *     INSTANCE_IP            the pod's IP
 *     SERVICE_ACCOUNT        the pod's service account
 */
import type { NodeInfo } from '../xds/status.js';

export type ProxyMode = 'sidecar' | 'proxyless';

export const NODE_METADATA = {
  mode: 'PROXY_MODE',
  namespace: 'NAMESPACE',
  pod: 'POD_NAME',
  ip: 'INSTANCE_IP',
  serviceAccount: 'SERVICE_ACCOUNT',
} as const;

/** What translation needs to know about a proxy. */
export interface ProxyDescriptor {
  readonly mode: ProxyMode;
  readonly namespace: string;
  /** Sidecars only: the pod whose inbound traffic the sidecar receives. */
  readonly pod?: string;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Reads a node's identity: metadata first, then `<pod>.<namespace>` from node.id. */
export function describeNode(node: NodeInfo): ProxyDescriptor {
  const md = node.metadata;
  const mode: ProxyMode = text(md[NODE_METADATA.mode]) === 'proxyless' ? 'proxyless' : 'sidecar';
  const dot = node.id.lastIndexOf('.');
  const fromId = dot > 0 ? { pod: node.id.slice(0, dot), namespace: node.id.slice(dot + 1) } : { pod: node.id, namespace: '' };
  const namespace = text(md[NODE_METADATA.namespace]) || fromId.namespace || 'default';
  if (mode === 'proxyless') return { mode, namespace };
  return { mode, namespace, pod: text(md[NODE_METADATA.pod]) || fromId.pod };
}

/** The class key: `sidecar/<namespace>/<pod>` or `proxyless/<namespace>`. */
export function proxyClassOf(d: ProxyDescriptor): string {
  return d.mode === 'sidecar' ? `sidecar/${d.namespace}/${d.pod ?? ''}` : `proxyless/${d.namespace}`;
}

/** The descriptor back from a class key; undefined for a key that is not one. */
export function parseProxyClass(key: string): ProxyDescriptor | undefined {
  const [mode, namespace, pod, ...rest] = key.split('/');
  if (rest.length > 0 || !namespace) return undefined;
  if (mode === 'proxyless' && pod === undefined) return { mode, namespace };
  if (mode === 'sidecar' && pod) return { mode, namespace, pod };
  return undefined;
}

export function classifyNode(node: NodeInfo): string {
  return proxyClassOf(describeNode(node));
}
