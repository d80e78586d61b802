/**
 * The model: the intermediate representation between the sources and translation. Readonly,
 * JSON-serialisable plain data: no Kubernetes client types, no protobuf types. Lists are sorted.
 */
import type { Origin } from './inputs.js';

/** How traffic on a service port is handled: HTTP routing for http/http2/grpc, tcp_proxy for tcp. */
export type AppProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface ModelEndpoint {
  readonly address: string;
  readonly port: number;
  /** True when the endpoint is ready; false for a terminating-but-serving one used as a fallback. */
  readonly ready: boolean;
  readonly locality: Locality;
  /** `namespace/name` of the Pod behind it, when the EndpointSlice says so. */
  readonly pod?: string;
  /** The EndpointSlice it came from (`EndpointSlice ns/name`). */
  readonly source: string;
}

export interface ModelServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: AppProtocol;
  /** The EndpointSlice port name this service port matches. */
  readonly targetPort: number | string;
  /**
   * The endpoints that get traffic, sorted by address then port: ready ones; when none is ready,
   * the terminating ones that are still serving. Not-ready endpoints are never listed.
   */
  readonly endpoints: readonly ModelEndpoint[];
}

export type ServiceKind = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface ModelService {
  readonly namespace: string;
  readonly name: string;
  /** `name.namespace.svc.<domain>` */
  readonly hostname: string;
  readonly kind: ServiceKind;
  readonly clusterIP?: string;
  /** For ExternalName services: the DNS name they alias. */
  readonly externalName?: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly ModelServicePort[];
  /** `Service namespace/name` */
  readonly source: string;
}

export interface WorkloadPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: AppProtocol;
}

export interface ModelWorkload {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  /** `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>` */
  readonly identity: string;
  /** The ports the workload serves: from services selecting it (their target ports) and its containers. */
  readonly ports: readonly WorkloadPort[];
  /** Services that select this workload (`namespace/name`), sorted. */
  readonly services: readonly string[];
  /** `Pod namespace/name` */
  readonly source: string;
}

export interface FieldError {
  /** Dotted path inside the object, e.g. `spec.ports[1].targetPort`. */
  readonly field: string;
  readonly message: string;
}

export interface ObjectStatus {
  /** `Kind namespace/name` */
  readonly object: string;
  readonly origin?: Origin;
  readonly accepted: boolean;
  /** Errors make an object rejected; warnings do not. */
  readonly errors: readonly FieldError[];
  readonly warnings: readonly FieldError[];
}

export interface MeshModel {
  /** The cluster's DNS domain (`cluster.local`). */
  readonly domain: string;
  readonly trustDomain: string;
  readonly services: readonly ModelService[];
  readonly workloads: readonly ModelWorkload[];
  /** One per input object that has something to say (errors or warnings), sorted by object. */
  readonly statuses: readonly ObjectStatus[];
}
