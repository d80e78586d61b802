/**
 * How a proxy identifies itself, decided once. The bootstrap Trellis renders sets node.id, the
 * node's locality and these node.metadata keys; classification reads them back. A proxy class is
 * the set of proxies that receive the same configuration: translation runs once per class, not
 * once per proxy.
 *
 *   node.id                  <pod>.<namespace>         (unique per proxy; what /debug shows)
 *   node.cluster             <service-account>.<namespace>
 *   node.locality            region / zone / sub_zone  (where the proxy runs; any part may be unset)
 *   node.metadata
 *     PROXY_MODE             sidecar | proxyless       (Envoy sidecar, or a proxyless gRPC application)
 *     NAMESPACE              the pod's namespace
 *     POD_NAME               the pod's name
 *     INSTANCE_IP            the pod's IP
 *     SERVICE_ACCOUNT        the pod's service account
 *
 * Class keys: `sidecar/<namespace>/<pod>` and `proxyless/<namespace>`, followed by
 * `@<region>/<zone>/<subzone>` (each part URI-encoded, unset parts empty) only when the node has a
 * locality: locality-aware load balancing (policy/locality.ts) gives proxies in different
 * localities different endpoint priorities. A sidecar's pod has one locality, so sidecar classes do
 * not multiply; proxyless classes become one per (namespace, locality) in use.
 */
import { NODE_METADATA, type ProxyMode } from '../envoy/contract.js';
import type { Locality } from '../model/types.js';
import type { NodeInfo } from '../envoy/node.js';

/** What translation needs to know about a proxy. */
export interface ProxyDescriptor {
  readonly mode: ProxyMode;
  readonly namespace: string;
  /** Sidecars only: the pod whose inbound traffic the sidecar receives. */
  readonly pod?: string;
  /** Where the proxy runs (node.locality), when its node says so: at least one part is set. */
  readonly locality?: Locality;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The node's locality; undefined when it has none (no part set). */
function localityOf(node: NodeInfo): Locality | undefined {
  const l = node.locality;
  const locality: Locality = { region: text(l?.region), zone: text(l?.zone), subZone: text(l?.sub_zone) };
  return locality.region || locality.zone || locality.subZone ? locality : undefined;
}

/** Reads a node's identity: metadata first, then `<pod>.<namespace>` from node.id; and its locality. */
export function describeNode(node: NodeInfo): ProxyDescriptor {
  const md = node.metadata;
  const mode: ProxyMode = text(md[NODE_METADATA.mode]) === 'proxyless' ? 'proxyless' : 'sidecar';
  const dot = node.id.lastIndexOf('.');
  const fromId = dot > 0 ? { pod: node.id.slice(0, dot), namespace: node.id.slice(dot + 1) } : { pod: node.id, namespace: '' };
  const namespace = text(md[NODE_METADATA.namespace]) || fromId.namespace || 'default';
  const locality = localityOf(node);
  const where = locality ? { locality } : {};
  if (mode === 'proxyless') return { mode, namespace, ...where };
  return { mode, namespace, pod: text(md[NODE_METADATA.pod]) || fromId.pod, ...where };
}

/** `<region>/<zone>/<subzone>`, each part URI-encoded (no `/` or `@` inside a part). */
function localitySuffix(l: Locality): string {
  return [l.region, l.zone, l.subZone].map(encodeURIComponent).join('/');
}

/** The class key: `sidecar/<namespace>/<pod>` or `proxyless/<namespace>`, then `@<locality>` if any. */
export function proxyClassOf(d: ProxyDescriptor): string {
  const base = d.mode === 'sidecar' ? `sidecar/${d.namespace}/${d.pod ?? ''}` : `proxyless/${d.namespace}`;
  return d.locality ? `${base}@${localitySuffix(d.locality)}` : base;
}

function parseBase(key: string): ProxyDescriptor | undefined {
  const [mode, namespace, pod, ...rest] = key.split('/');
  if (rest.length > 0 || !namespace) return undefined;
  if (mode === 'proxyless' && pod === undefined) return { mode, namespace };
  if (mode === 'sidecar' && pod) return { mode, namespace, pod };
  return undefined;
}

function parseLocality(suffix: string): Locality | undefined {
  const parts = suffix.split('/');
  if (parts.length !== 3) return undefined;
  try {
    const [region = '', zone = '', subZone = ''] = parts.map(decodeURIComponent);
    return region || zone || subZone ? { region, zone, subZone } : undefined;
  } catch {
    return undefined; // a malformed %-escape
  }
}

/**
 * The descriptor back from a class key; undefined for a key that is not one. Only the form
 * proxyClassOf writes is accepted, so that parse and proxyClassOf are inverses.
 */
export function parseProxyClass(key: string): ProxyDescriptor | undefined {
  const at = key.indexOf('@');
  const base = parseBase(at < 0 ? key : key.slice(0, at));
  if (!base || at < 0) return base;
  const locality = parseLocality(key.slice(at + 1));
  if (!locality) return undefined;
  const d: ProxyDescriptor = { ...base, locality };
  return proxyClassOf(d) === key ? d : undefined;
}

/**
 * The node's class key; undefined when the node names a class that does not parse back (a `/` or
 * `@` in its POD_NAME or NAMESPACE): such a node cannot be served and is refused.
 */
export function classifyNode(node: NodeInfo): string | undefined {
  const key = proxyClassOf(describeNode(node));
  return parseProxyClass(key) ? key : undefined;
}
