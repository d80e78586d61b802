/**
 * buildModel: MeshInputs → MeshModel. Validates and resolves references (EndpointSlices to their
 * Service, endpoints to the Nodes they run on, Services to the Pods they select) and records what
 * it found wrong, per object and field. One bad object never blocks the others: it is left out, or
 * kept without the bad part.
 */
import { Diagnostics, refOf, sortDiagnostics, type ObjectRef, type Origin } from '../diagnostics.js';
import { SERVICE_NAME_LABEL, type EndpointSliceObject, type Input, type MeshInputs, type PodObject, type ServiceObject } from './inputs.js';
import { nodeLocalities, selectEndpoints, type NodeLocalities } from './endpoints.js';
import { resolvePolicies, withPolicies } from './policies.js';
import { protocolOf } from './protocol.js';
import { shareUnchanged } from './share.js';
import { meshPods, withIdentities, withPortModes, workloadPortMode } from './mtls.js';
import type { MeshModel, ModelService, ModelServicePort, ModelWorkload, MtlsMode, WorkloadPort } from './types.js';

export interface ModelOptions {
  /** The cluster DNS domain. */
  readonly domain: string;
  /** The SPIFFE trust domain of workload identities. */
  readonly trustDomain: string;
  /**
   * Mutual TLS between workloads (model/mtls.ts): `enabled` only when Trellis has workload
   * certificates (`trellis serve --issuer`); `defaultMode` (`--mtls-mode`) for service ports whose
   * policy does not say. Absent: off.
   */
  readonly mtls?: { readonly enabled: boolean; readonly defaultMode: MtlsMode };
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = { domain: 'cluster.local', trustDomain: 'cluster.local' };

function byNamespaceName<T extends { metadata: { namespace: string; name: string } }>(a: Input<T>, b: Input<T>): number {
  const ka = `${a.object.metadata.namespace}/${a.object.metadata.name}`;
  const kb = `${b.object.metadata.namespace}/${b.object.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function slicesByService(inputs: MeshInputs, statuses: Diagnostics): Map<string, Input<EndpointSliceObject>[]> {
  const out = new Map<string, Input<EndpointSliceObject>[]>();
  for (const slice of inputs.endpointSlices) {
    const meta = slice.object.metadata;
    const service = meta.labels[SERVICE_NAME_LABEL];
    if (!service) {
      statuses.warn(
        refOf('EndpointSlice', meta),
        slice.origin,
        `metadata.labels["${SERVICE_NAME_LABEL}"]`,
        'missing: the slice belongs to no Service and is ignored',
      );
      continue;
    }
    const key = `${meta.namespace}/${service}`;
    out.set(key, [...(out.get(key) ?? []), slice]);
  }
  return out;
}

/** What building a Service needs besides the Service: its slices, where the nodes are, the options and the statuses. */
interface ServiceContext {
  readonly slices: readonly Input<EndpointSliceObject>[];
  readonly nodes: NodeLocalities;
  readonly opts: ModelOptions;
  readonly statuses: Diagnostics;
  /** The pods (`namespace/name`) whose endpoints are in the mesh (mTLS enabled only). */
  readonly meshPods: ReadonlySet<string>;
}

function servicePorts(svc: Input<ServiceObject>, { slices, nodes, statuses, meshPods }: ServiceContext): ModelServicePort[] {
  const ref = refOf('Service', svc.object.metadata);
  const seen = new Set<number>();
  const ports: ModelServicePort[] = [];
  svc.object.spec.ports.forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    if (p.protocol !== 'TCP') {
      statuses.warn(ref, svc.origin, `${field}.protocol`, `${p.protocol} is not proxied; only TCP ports are`);
      return;
    }
    if (seen.has(p.port)) {
      statuses.error(ref, svc.origin, `${field}.port`, `port ${p.port} is listed twice`);
      return;
    }
    seen.add(p.port);
    const warn = (source: ObjectRef, origin: Origin, field: string, message: string) => statuses.warn(source, origin, field, message);
    const endpoints = selectEndpoints(slices, p.name, nodes, warn, meshPods);
    ports.push({ name: p.name, port: p.port, protocol: protocolOf(p), targetPort: p.targetPort ?? p.port, endpoints });
  });
  return ports.sort((a, b) => a.port - b.port);
}

function buildService(svc: Input<ServiceObject>, ctx: ServiceContext): ModelService | undefined {
  const { opts, statuses } = ctx;
  const { metadata: meta, spec } = svc.object;
  const ref = refOf('Service', meta);
  const kind = spec.type === 'ExternalName' ? 'ExternalName' : spec.clusterIP === 'None' ? 'Headless' : 'ClusterIP';
  if (kind === 'ExternalName' && !spec.externalName) {
    statuses.error(ref, svc.origin, 'spec.externalName', 'required for a Service of type ExternalName');
    return undefined;
  }
  return {
    namespace: meta.namespace,
    name: meta.name,
    hostname: `${meta.name}.${meta.namespace}.svc.${opts.domain}`,
    kind,
    ...(kind === 'ClusterIP' && spec.clusterIP ? { clusterIP: spec.clusterIP } : {}),
    ...(kind === 'ExternalName' && spec.externalName ? { externalName: spec.externalName } : {}),
    selector: spec.selector ?? {},
    ports: servicePorts(svc, kind === 'ExternalName' ? { ...ctx, slices: [] } : ctx),
    source: ref,
  };
}

/** Services by namespace, each with its selector's entries worked out once (a pod is matched against its namespace's only). */
type SelectorIndex = ReadonlyMap<string, readonly { readonly service: ModelService; readonly entries: readonly (readonly [string, string])[] }[]>;

function selectorIndex(services: readonly ModelService[]): SelectorIndex {
  const index = new Map<string, { service: ModelService; entries: (readonly [string, string])[] }[]>();
  for (const service of services) {
    const entries = Object.entries(service.selector);
    if (entries.length === 0) continue; // a Service without a selector selects no pod
    const list = index.get(service.namespace) ?? [];
    list.push({ service, entries });
    index.set(service.namespace, list);
  }
  return index;
}

function selecting(index: SelectorIndex, pod: PodObject): ModelService[] {
  const labels = pod.metadata.labels;
  return (index.get(pod.metadata.namespace) ?? []).filter((s) => s.entries.every(([k, v]) => labels[k] === v)).map((s) => s.service);
}

/**
 * The ports a workload serves: what its selecting services target, then its declared container
 * ports; with mTLS, each with its mode (model/mtls.ts; a port targeted both STRICT and PERMISSIVE is
 * a warning on the Pod).
 */
function workloadPorts(pod: Input<PodObject>, services: readonly ModelService[], opts: ModelOptions, statuses: Diagnostics): WorkloadPort[] {
  const declared = pod.object.spec.containers.flatMap((c) => c.ports.filter((p) => p.protocol === 'TCP'));
  const ports = new Map<number, WorkloadPort>();
  const asked = new Map<number, { mode: MtlsMode; by: string }[]>();
  for (const svc of services) {
    for (const sp of svc.ports) {
      const target = typeof sp.targetPort === 'number' ? sp.targetPort : declared.find((d) => d.name === sp.targetPort)?.containerPort;
      if (target === undefined) continue;
      if (!ports.has(target)) ports.set(target, { name: sp.name, port: target, protocol: sp.protocol });
      if (sp.mtls) asked.set(target, [...(asked.get(target) ?? []), { mode: sp.mtls, by: `Service ${svc.namespace}/${svc.name}:${sp.port} (${sp.mtls})` }]);
    }
  }
  for (const d of declared) {
    if (!ports.has(d.containerPort)) ports.set(d.containerPort, { name: d.name ?? '', port: d.containerPort, protocol: protocolOf({ name: d.name ?? '' }) });
  }
  const settings = mtlsSettings(opts);
  return [...ports.values()]
    .sort((a, b) => a.port - b.port)
    .map((p) => {
      const by = asked.get(p.port) ?? [];
      const conflict = () =>
        statuses.warn(
          refOf('Pod', pod.object.metadata),
          pod.origin,
          undefined,
          `port ${p.port} is targeted by ${by.map((b) => b.by).join(', ')}: its sidecar accepts only mutual TLS there (STRICT wins)`,
        );
      const mode = workloadPortMode(
        by.map((b) => b.mode),
        settings,
        conflict,
      );
      return mode ? { ...p, mtls: mode } : p;
    });
}

/** The model's mutual TLS settings: present only when enabled. */
function mtlsSettings(opts: ModelOptions): MeshModel['mtls'] {
  return opts.mtls?.enabled ? { defaultMode: opts.mtls.defaultMode } : undefined;
}

function buildWorkload(pod: Input<PodObject>, services: SelectorIndex, opts: ModelOptions, statuses: Diagnostics): ModelWorkload | undefined {
  const { metadata: meta, spec, status } = pod.object;
  const ref = refOf('Pod', meta);
  if (!status.podIP) {
    statuses.warn(ref, pod.origin, 'status.podIP', 'no IP assigned yet; the pod is not part of the mesh until it has one');
    return undefined;
  }
  const selected = selecting(services, pod.object);
  return {
    namespace: meta.namespace,
    name: meta.name,
    ip: status.podIP,
    labels: meta.labels,
    serviceAccount: spec.serviceAccountName,
    identity: `spiffe://${opts.trustDomain}/ns/${meta.namespace}/sa/${spec.serviceAccountName}`,
    ports: workloadPorts(pod, selected, opts, statuses),
    services: selected.map((s) => `${s.namespace}/${s.name}`).sort(),
    source: ref,
  };
}

/**
 * `previous`, the model built before this one, lets a TrafficPolicy whose new spec is invalid keep
 * its last good spec in force; and every service and workload the same as in it is its very object
 * (share.ts).
 */
export function buildModel(inputs: MeshInputs, opts: ModelOptions = DEFAULT_MODEL_OPTIONS, previous?: MeshModel): MeshModel {
  const statuses = new Diagnostics();
  const slices = slicesByService(inputs, statuses);
  const nodes = nodeLocalities(inputs.nodes);
  const mtls = mtlsSettings(opts);
  const podLabels = new Map(inputs.pods.map((p) => [`${p.object.metadata.namespace}/${p.object.metadata.name}`, p.object.metadata.labels]));
  const mesh = meshPods(podLabels, mtls);
  const built: ModelService[] = [];
  const known = new Set<string>();
  for (const svc of [...inputs.services].sort(byNamespaceName)) {
    const key = `${svc.object.metadata.namespace}/${svc.object.metadata.name}`;
    known.add(key);
    const service = buildService(svc, { slices: slices.get(key) ?? [], nodes, opts, statuses, meshPods: mesh });
    if (service) built.push(service);
  }
  for (const [key, list] of slices) {
    if (known.has(key)) continue;
    for (const slice of list) {
      statuses.warn(
        refOf('EndpointSlice', slice.object.metadata),
        slice.origin,
        `metadata.labels["${SERVICE_NAME_LABEL}"]`,
        `Service ${key} does not exist; the slice is ignored until it does`,
      );
    }
  }
  const resolution = resolvePolicies(inputs.trafficPolicies, built, previous, statuses, {
    podLabels,
    trustDomain: opts.trustDomain,
    ...(mtls ? { mtls } : {}),
  });
  const secured = withPortModes(withPolicies(built, resolution), mtls, statuses);
  const { policies } = resolution;
  const index = selectorIndex(secured);
  const workloads = [...inputs.pods].sort(byNamespaceName).flatMap((p) => buildWorkload(p, index, opts, statuses) ?? []);
  const byKey = (e: { namespace: string; name: string }): string => `${e.namespace}/${e.name}`;
  const services = shareUnchanged(withIdentities(secured, workloads, mtls), previous?.services, byKey);
  return {
    domain: opts.domain,
    trustDomain: opts.trustDomain,
    ...(mtls ? { mtls } : {}),
    services,
    workloads: shareUnchanged(workloads, previous?.workloads, byKey),
    policies,
    diagnostics: sortDiagnostics(statuses.list),
  };
}
