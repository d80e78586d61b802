/**
 * MeshInputs: the Kubernetes objects Trellis reads, as both sources produce them (a directory of
 * manifests, or a live cluster). Each kind has a zod schema that admits exactly the fields the
 * model needs; everything else on the object is ignored. Nothing downstream knows where an object
 * came from except through its `origin`, which is for error messages.
 */
import { z } from 'zod';
import type { Origin } from '../diagnostics.js';
import { checked, dns1035Label, dns1123Label, dns1123Subdomain, ianaSvcName, labelMap, labelValue, qualifiedName, servicePortNames } from './names.js';

export type { Origin };

/** Names of most kinds (Pods, Nodes, EndpointSlices, TrafficPolicies), service accounts and node names. */
const name = checked(dns1123Subdomain, z.string().min(1));
const labels = labelMap.default({});
/** Annotations are not read by the model: only their shape is checked. */
const annotations = z.record(z.string(), z.string()).default({});
const namespaceName = checked(dns1123Label, z.string().min(1));

const metadata = z.object({
  name,
  namespace: namespaceName.default('default'),
  labels,
  annotations,
  generation: z.number().int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

const clusterMetadata = metadata.omit({ namespace: true });

const port = z.number().int().min(1).max(65535);
const intOrString = z.union([port, checked(ianaSvcName)]);
/** A Service's or EndpointSlice's port name: empty (one port), or a DNS-1123 label. */
const portName = z
  .string()
  .default('')
  .check((ctx) => {
    const bad = ctx.value === '' ? undefined : dns1123Label(ctx.value);
    if (bad) ctx.issues.push({ code: 'custom', message: bad, input: ctx.value });
  });
const appProtocol = checked(qualifiedName).optional();
const transport = z.enum(['TCP', 'UDP', 'SCTP']).default('TCP');

export const namespaceSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: clusterMetadata.extend({ name: namespaceName }),
});

/** The well-known labels that say where a Node is (set by the kubelet from its cloud provider). */
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/**
 * A Node, as far as the model needs one: its name and where it is. Of its labels only the region
 * and zone are kept (zod drops the others); nothing of its spec or status is.
 */
export const nodeSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Node'),
  metadata: z.object({
    name,
    labels: z.object({ [REGION_LABEL]: checked(labelValue).optional(), [ZONE_LABEL]: checked(labelValue).optional() }).default({}),
    resourceVersion: z.string().optional(),
  }),
});

export const serviceSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: metadata.extend({ name: checked(dns1035Label, z.string().min(1)) }),
  spec: z.object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
    clusterIP: z.string().optional(),
    selector: labels.optional(),
    externalName: checked((v) => dns1123Subdomain(v.endsWith('.') ? v.slice(0, -1) : v)).optional(),
    ports: z
      .array(
        z.object({
          name: portName,
          port,
          targetPort: intOrString.optional(),
          protocol: transport,
          appProtocol,
        }),
      )
      .default([])
      .check((ctx) => {
        for (const { index, message } of servicePortNames(ctx.value)) ctx.issues.push({ code: 'custom', message, input: ctx.value, path: [index, 'name'] });
      }),
  }),
});

export const endpointSliceSchema = z.object({
  apiVersion: z.literal('discovery.k8s.io/v1'),
  kind: z.literal('EndpointSlice'),
  metadata,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string().min(1)).min(1).max(100),
        conditions: z.object({ ready: z.boolean().optional(), serving: z.boolean().optional(), terminating: z.boolean().optional() }).default({}),
        hostname: checked(dns1123Label).optional(),
        nodeName: name.optional(),
        zone: z.string().optional(),
        targetRef: z.object({ kind: z.string().optional(), name: z.string(), namespace: z.string().optional() }).optional(),
      }),
    )
    .default([]),
  ports: z
    .array(
      z.object({
        name: portName,
        port: port.optional(),
        protocol: transport,
        appProtocol,
      }),
    )
    .default([]),
});

export const podSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata,
  spec: z.object({
    serviceAccountName: name.default('default'),
    nodeName: name.optional(),
    containers: z
      .array(
        z.object({
          name: checked(dns1123Label),
          ports: z.array(z.object({ name: checked(ianaSvcName).optional(), containerPort: port, protocol: transport })).default([]),
        }),
      )
      .default([]),
  }),
  status: z
    .object({
      podIP: z.string().optional(),
      phase: z.string().optional(),
    })
    .default({}),
});

/**
 * A TrafficPolicy as the sources read it: its identity and a spec still to be checked. The model
 * validates the spec against the policy schema (src/policy), so that a policy that fails gets
 * status (Accepted=False, Invalid) while its last good version stays in force; a source never
 * refuses one for its spec. The status is kept so that the status writer can tell what is stale.
 */
export const trafficPolicyInputSchema = z.object({
  apiVersion: z.literal('trellis.dev/v1alpha1'),
  kind: z.literal('TrafficPolicy'),
  metadata: metadata.extend({ creationTimestamp: z.string().optional() }),
  spec: z.unknown(),
  status: z.unknown().optional(),
});

export type NamespaceObject = z.output<typeof namespaceSchema>;
export type NodeObject = z.output<typeof nodeSchema>;
export type ServiceObject = z.output<typeof serviceSchema>;
export type EndpointSliceObject = z.output<typeof endpointSliceSchema>;
export type PodObject = z.output<typeof podSchema>;
export type TrafficPolicyObject = z.output<typeof trafficPolicyInputSchema>;

/** An input object and where it came from. */
export interface Input<T> {
  readonly object: T;
  readonly origin: Origin;
}

export interface MeshInputs {
  readonly namespaces: readonly Input<NamespaceObject>[];
  /** Where endpoints run: their region (and zone, when their slice does not say). */
  readonly nodes: readonly Input<NodeObject>[];
  readonly services: readonly Input<ServiceObject>[];
  readonly endpointSlices: readonly Input<EndpointSliceObject>[];
  readonly pods: readonly Input<PodObject>[];
  readonly trafficPolicies: readonly Input<TrafficPolicyObject>[];
}

/** The kinds Trellis reads, by `apiVersion/kind`, with their schemas; anything else is skipped. */
export const INPUT_KINDS = {
  'v1/Namespace': { schema: namespaceSchema, list: 'namespaces' },
  'v1/Node': { schema: nodeSchema, list: 'nodes' },
  'v1/Service': { schema: serviceSchema, list: 'services' },
  'discovery.k8s.io/v1/EndpointSlice': { schema: endpointSliceSchema, list: 'endpointSlices' },
  'v1/Pod': { schema: podSchema, list: 'pods' },
  'trellis.dev/v1alpha1/TrafficPolicy': { schema: trafficPolicyInputSchema, list: 'trafficPolicies' },
} as const;

export type InputKindKey = keyof typeof INPUT_KINDS;

/** The label EndpointSlices carry to name their Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * The label (and value) of a Pod whose inbound traffic a sidecar accepts as mutual TLS (the sidecar
 * injector sets it): `trellis.dev/tls-mode: mesh`. Sidecars speak mTLS to such endpoints.
 */
export const TLS_MODE_LABEL = 'trellis.dev/tls-mode';
export const TLS_MODE_MESH = 'mesh';

export const EMPTY_INPUTS: MeshInputs = { namespaces: [], nodes: [], services: [], endpointSlices: [], pods: [], trafficPolicies: [] };
