/**
 * The model: the intermediate representation between the sources and translation. Readonly,
 * JSON-serialisable plain data: no Kubernetes client types, no protobuf types. Lists are sorted.
 */
import type { Diagnostic, ObjectRef, Origin } from '../diagnostics.js';
import type { MergedPolicy } from '../policy/merge.js';
import type { AuthorizationRule, AuthorizationSpec, MtlsMode, TrafficPolicySpec } from '../policy/schema.js';

export type { AuthorizationRule, MtlsMode };

/** How traffic on a service port is handled: HTTP routing for http/http2/grpc, tcp_proxy for tcp. */
export type AppProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

/** Where an endpoint or a proxy is; '' for a part that is not known. */
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
  /** Region from its Node's label; zone from its EndpointSlice, else its Node's label; no sub-zone. */
  readonly locality: Locality;
  /** `namespace/name` of the Pod behind it, when the EndpointSlice says so. */
  readonly pod?: string;
  /**
   * Set (mTLS enabled only) when that Pod carries `trellis.dev/tls-mode: mesh` (model/mtls.ts): a
   * sidecar accepts mutual TLS there, so sidecars speak it to this endpoint.
   */
  readonly mesh?: true;
  /** The EndpointSlice it came from. */
  readonly source: ObjectRef;
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
  /**
   * The TrafficPolicy settings in force on this port, merged from every policy attached to it
   * (oldest first, field by field), with the policy each field came from. Absent: no policy.
   */
  readonly policy?: MergedPolicy;
  /**
   * What the routes of `policy` (routing.http, by index) send to, resolved in the model; a backend
   * that did not resolve is left out (and reported on the policy).
   */
  readonly routes?: readonly ResolvedRule[];
  /**
   * How traffic to the port is secured when workload certificates are on (the port's policy's
   * `mtls.mode`, else --mtls-mode); absent when mTLS is off, and for ExternalName services (outside the mesh).
   */
  readonly mtls?: MtlsMode;
  /**
   * The authorization of every accepted policy attached to the port, sorted by policy: not merged,
   * they all apply, DENY before ALLOW (model/authorization.ts). Absent: none.
   */
  readonly authorization?: readonly ModelAuthorization[];
}

/** One policy's `spec.authorization`, as it applies to a service port. */
export interface ModelAuthorization {
  readonly policy: ObjectRef;
  readonly action: AuthorizationSpec['action'];
  /** As written; `to[].ports` are service port numbers of the policy's targets. */
  readonly rules: readonly AuthorizationRule[];
}

/** A service port a route sends to (or mirrors to), resolved. */
export interface ResolvedBackend {
  readonly service: ObjectRef;
  /** The service's `name.namespace.svc.<domain>` */
  readonly hostname: string;
  readonly port: number;
  readonly weight: number;
  /** Only the endpoints of the port whose pods carry `labels` (a canary), in the port's order. */
  readonly subset?: { readonly labels: Readonly<Record<string, string>>; readonly endpoints: readonly ModelEndpoint[] };
}

/** One rule of routing.http, resolved: its usable backends (none: the rule has no backends of its own) and mirror. */
export interface ResolvedRule {
  readonly backends?: readonly ResolvedBackend[];
  readonly mirror?: ResolvedBackend;
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
  /**
   * mTLS enabled only: the SPIFFE identities of its pods (those it selects and those behind its
   * endpoints), sorted: what a client accepts in the certificate of an endpoint.
   */
  readonly identities?: readonly string[];
  readonly source: ObjectRef;
}

export interface WorkloadPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: AppProtocol;
  /**
   * mTLS enabled only: how the workload accepts traffic on the port — STRICT when a service port
   * targeting it is STRICT, else PERMISSIVE when one is, else --mtls-mode.
   */
  readonly mtls?: MtlsMode;
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
  /**
   * The services its sidecar sends to (`namespace/name`, `namespace/*`; sorted), from the Pod's
   * `trellis.dev/reachable-services` (model/reachable.ts). Absent: every service.
   */
  readonly reachable?: readonly string[];
  readonly source: ObjectRef;
}

/** A status condition as the model decides it (the writer adds times and generations). */
export interface Condition {
  readonly type: 'Accepted' | 'ResolvedRefs' | 'PartiallyInvalid' | 'Conflicted';
  readonly status: 'True' | 'False';
  /** Accepted, Invalid, TargetNotFound; ResolvedRefs, BackendNotFound, UnsupportedProtocol, InvalidSubset; UnsupportedValue; Conflicted */
  readonly reason: string;
  readonly message: string;
}

export interface ModelPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly source: ObjectRef;
  readonly origin?: Origin;
  readonly uid?: string;
  /** metadata.generation of the object as read. */
  readonly generation?: number;
  /**
   * The spec in force: the object's own when it is valid; when it is not, the last good one this
   * Trellis saw (from the previous model); none when it never saw a good one.
   */
  readonly inForce?: { readonly generation?: number; readonly spec: TrafficPolicySpec };
  /** The service ports it applies to: `Service namespace/name:port`, sorted. */
  readonly attachedTo: readonly string[];
  /** Accepted, and Conflicted when it lost fields to an older policy. */
  readonly conditions: readonly Condition[];
  /**
   * Set when part of what it asks can never be programmed by this control plane, whatever the
   * proxies do (mtls.mode STRICT, or authorization naming callers, without workload certificates):
   * Programmed is False with this reason and message (model/policy-status.ts).
   */
  readonly unprogrammable?: { readonly reason: string; readonly message: string };
}

/** Mutual TLS between workloads: on when Trellis has workload certificates (trellis serve --issuer). */
export interface MtlsSettings {
  /** How service ports whose policy does not say are secured (--mtls-mode). */
  readonly defaultMode: MtlsMode;
}

export interface MeshModel {
  /** The cluster's DNS domain (`cluster.local`). */
  readonly domain: string;
  readonly trustDomain: string;
  /** Present only when workload certificates are on: then traffic between mesh workloads is mutual TLS. */
  readonly mtls?: MtlsSettings;
  readonly services: readonly ModelService[];
  readonly workloads: readonly ModelWorkload[];
  /** Every TrafficPolicy read, sorted by namespace then name. */
  readonly policies: readonly ModelPolicy[];
  /** What buildModel found wrong, per object and field (errors first, then by file and object). */
  readonly diagnostics: readonly Diagnostic[];
}
