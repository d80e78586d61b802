/**
 * MeshInputs: the Kubernetes objects Trellis reads, as both sources produce them (a directory of
 * manifests, or a live cluster). Each kind has a zod schema that admits exactly the fields the
 * model needs; everything else on the object is ignored. Nothing downstream knows where an object
 * came from except through its `origin`, which is for error messages.
 */
import { z } from 'zod';
import type { Origin } from '../diagnostics.js';

export type { Origin };

const name = z.string().min(1).max(253);
const labels = z.record(z.string(), z.string()).default({});

const metadata = z.object({
  name,
  namespace: z.string().min(1).max(63).default('default'),
  labels,
  annotations: labels,
  generation: z.number().int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

const clusterMetadata = metadata.omit({ namespace: true });

const port = z.number().int().min(1).max(65535);
const intOrString = z.union([port, z.string().min(1)]);
const transport = z.enum(['TCP', 'UDP', 'SCTP']).default('TCP');

export const namespaceSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: clusterMetadata,
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
    labels: z.object({ [REGION_LABEL]: z.string().optional(), [ZONE_LABEL]: z.string().optional() }).default({}),
    resourceVersion: z.string().optional(),
  }),
});

export const serviceSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata,
  spec: z.object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
    clusterIP: z.string().optional(),
    selector: labels.optional(),
    externalName: z.string().optional(),
    ports: z
      .array(
        z.object({
          name: z.string().default(''),
          port,
          targetPort: intOrString.optional(),
          protocol: transport,
          appProtocol: z.string().optional(),
        }),
      )
      .default([]),
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
        hostname: z.string().optional(),
        nodeName: z.string().optional(),
        zone: z.string().optional(),
        targetRef: z.object({ kind: z.string().optional(), name: z.string(), namespace: z.string().optional() }).optional(),
      }),
    )
    .default([]),
  ports: z
    .array(
      z.object({
        name: z.string().default(''),
        port: port.optional(),
        protocol: transport,
        appProtocol: z.string().optional(),
      }),
    )
    .default([]),
});

export const podSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata,
  spec: z.object({
    serviceAccountName: z.string().default('default'),
    nodeName: z.string().optional(),
    containers: z
      .array(
        z.object({
          name: z.string(),
          ports: z.array(z.object({ name: z.string().optional(), containerPort: port, protocol: transport })).default([]),
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

export const EMPTY_INPUTS: MeshInputs = { namespaces: [], nodes: [], services: [], endpointSlices: [], pods: [], trafficPolicies: [] };
