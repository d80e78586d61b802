/**
 * The kinds the Kubernetes source reads: where each is listed and watched, and how a raw object from
 * the API server becomes what is stored. Every kind of MeshInputs is validated with its schema from
 * model/inputs.ts, exactly as the manifests source does; Pods and Nodes are first cut down to the
 * fields the model needs (memory matters at 10 000 Pods; a Node's status lists every image it
 * holds). A TrafficPolicy's spec is checked by the model, not here (see trafficPolicyInputSchema).
 * Two kinds are optional: TrafficPolicies (their CRD may not be installed) and Nodes (Trellis may
 * not be allowed to list them; endpoints then get no region).
 */
import type { z } from 'zod';
import {
  endpointSliceSchema,
  namespaceSchema,
  nodeSchema,
  podSchema,
  REGION_LABEL,
  serviceSchema,
  trafficPolicyInputSchema,
  ZONE_LABEL,
  type MeshInputs,
} from '../../model/inputs.js';
import { formatPath } from '../manifests/errors.js';
import { REACHABLE_ANNOTATION } from '../../model/reachable.js';
import type { ObjectRef } from '../../diagnostics.js';

export type KindKey = keyof MeshInputs;

export const CRD_MISSING = 'the TrafficPolicy CRD is not installed; TrafficPolicies are not read';
export const NODES_FORBIDDEN = 'Trellis may not list Nodes (RBAC: nodes get, list, watch): endpoints get no region, and a zone only from their EndpointSlice';

export type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly field: string; readonly message: string };

export interface KindSpec {
  readonly key: KindKey;
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /**
   * A kind Trellis can do without: the list answer that means it is not available here (404: its
   * CRD is not installed; 403: Trellis may not list it), reported as this warning rather than
   * retried as a failure. None of its objects are served meanwhile; the list is retried with backoff.
   */
  readonly optional?: Unavailable;
  /** Fields whose changes alone are not a change worth telling the pipeline about. */
  readonly ignoredInComparison: readonly string[];
  parse(raw: Readonly<Record<string, unknown>>): Parsed;
}

/** How an optional kind is missing, and what is said about it. */
export interface Unavailable {
  readonly status: 403 | 404;
  /** The warning while it lasts: its object (if any) and message. */
  readonly object?: ObjectRef;
  readonly message: string;
  /** Logged when the kind is available again. */
  readonly available: string;
}

type Rec = Readonly<Record<string, unknown>>;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function rec(v: unknown): Rec | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;
}

function apiVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** The metadata every kind keeps; the last-applied annotation (a copy of the whole object) is dropped. */
function slimMetadata(meta: unknown, keepAnnotations: boolean): unknown {
  const m = rec(meta);
  if (!m) return meta;
  const annotations = rec(m.annotations);
  const kept = keepAnnotations && annotations ? Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED)) : undefined;
  const out = { name: m.name, namespace: m.namespace, labels: m.labels, uid: m.uid, resourceVersion: m.resourceVersion };
  return defined(keepAnnotations ? { ...out, annotations: kept, generation: m.generation, creationTimestamp: m.creationTimestamp } : out);
}

/** The same object without its undefined properties, so that stored objects compare and print alike. */
function defined(o: Record<string, unknown>): Rec {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A Pod's slim metadata, with the one annotation the model reads (its sidecar's reach) when it has it. */
function podMetadata(meta: unknown): unknown {
  const slim = slimMetadata(meta, false);
  const reach = rec(rec(meta)?.annotations)?.[REACHABLE_ANNOTATION];
  return reach === undefined ? slim : { ...rec(slim), annotations: { [REACHABLE_ANNOTATION]: reach } };
}

/** A Pod with only what the model reads: identity, labels, its sidecar's reach, service account, container ports, IP and phase. */
export function slimPod(raw: Rec): Rec {
  const spec = rec(raw.spec);
  const status = rec(raw.status);
  const containers = spec?.containers;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: podMetadata(raw.metadata),
    spec:
      spec &&
      defined({
        serviceAccountName: spec.serviceAccountName,
        containers: Array.isArray(containers)
          ? containers.map((c: unknown) => {
              const container = rec(c);
              return container ? defined({ name: container.name, ports: container.ports }) : c;
            })
          : containers,
      }),
    status: status && defined({ podIP: status.podIP, phase: status.phase }),
  };
}

/** A Node with only its name, resourceVersion and where it is (its region and zone labels). */
export function slimNode(raw: Rec): Rec {
  const meta = rec(raw.metadata);
  const labels = rec(meta?.labels);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata:
      meta &&
      defined({
        name: meta.name,
        resourceVersion: meta.resourceVersion,
        labels: labels && defined({ [REGION_LABEL]: labels[REGION_LABEL], [ZONE_LABEL]: labels[ZONE_LABEL] }),
      }),
  };
}

function withSchema(schema: z.ZodType, group: string, version: string, kind: string, slim?: (raw: Rec) => Rec): KindSpec['parse'] {
  const av = apiVersion(group, version);
  return (raw) => {
    // Items of a list come without apiVersion and kind.
    const typed = slim ? slim(raw) : { ...raw, apiVersion: av, kind, metadata: slimMetadata(raw.metadata, true) };
    const result = schema.safeParse(typed);
    if (result.success) return { ok: true, value: result.data };
    const issue = result.error.issues[0];
    return { ok: false, field: formatPath(issue?.path ?? []), message: issue?.message ?? 'invalid' };
  };
}

function kind(key: KindKey, k: string, group: string, version: string, plural: string, namespaced: boolean, parse: KindSpec['parse']): KindSpec {
  return { key, kind: k, group, version, plural, namespaced, ignoredInComparison: ['metadata.resourceVersion'], parse };
}

export const NAMESPACES = kind('namespaces', 'Namespace', '', 'v1', 'namespaces', false, withSchema(namespaceSchema, '', 'v1', 'Namespace'));
export const SERVICES = kind('services', 'Service', '', 'v1', 'services', true, withSchema(serviceSchema, '', 'v1', 'Service'));
export const ENDPOINT_SLICES = kind(
  'endpointSlices',
  'EndpointSlice',
  'discovery.k8s.io',
  'v1',
  'endpointslices',
  true,
  withSchema(endpointSliceSchema, 'discovery.k8s.io', 'v1', 'EndpointSlice'),
);
export const PODS = kind('pods', 'Pod', '', 'v1', 'pods', true, withSchema(podSchema, '', 'v1', 'Pod', slimPod));
export const NODES: KindSpec = {
  ...kind('nodes', 'Node', '', 'v1', 'nodes', false, withSchema(nodeSchema, '', 'v1', 'Node', slimNode)),
  optional: { status: 403, message: NODES_FORBIDDEN, available: 'Nodes may be listed now; endpoints get their region from them' },
};
export const TRAFFIC_POLICIES: KindSpec = {
  ...kind(
    'trafficPolicies',
    'TrafficPolicy',
    'trellis.dev',
    'v1alpha1',
    'trafficpolicies',
    true,
    withSchema(trafficPolicyInputSchema, 'trellis.dev', 'v1alpha1', 'TrafficPolicy'),
  ),
  optional: {
    status: 404,
    object: { kind: 'CustomResourceDefinition', name: 'trafficpolicies.trellis.dev' },
    message: CRD_MISSING,
    available: 'the TrafficPolicy CRD is installed; reading TrafficPolicies',
  },
  // Trellis writes TrafficPolicy status itself; a status change is not an input change.
  ignoredInComparison: ['metadata.resourceVersion', 'status'],
};

/** The namespaced kinds, in the order their informers start. */
export const NAMESPACED_KINDS: readonly KindSpec[] = [SERVICES, ENDPOINT_SLICES, PODS, TRAFFIC_POLICIES];
export const ALL_KINDS: readonly KindSpec[] = [NAMESPACES, NODES, ...NAMESPACED_KINDS];

/** `Services`, `TrafficPolicies`: the kind's name in the plural, as people write it. */
export function kindTitle(spec: KindSpec): string {
  return spec.kind.endsWith('y') ? `${spec.kind.slice(0, -1)}ies` : `${spec.kind}s`;
}

/** `/api/v1/namespaces/shop/pods`, `/apis/discovery.k8s.io/v1/endpointslices`, … */
export function collectionPath(spec: KindSpec, namespace?: string): string {
  const base = spec.group === '' ? `/api/${spec.version}` : `/apis/${spec.group}/${spec.version}`;
  const scope = spec.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${scope}/${spec.plural}`;
}
