/**
 * The workloads of the model, one per Pod with an IP: the services selecting it, the ports it serves
 * and, with mTLS, how it accepts traffic on each (model/mtls.ts).
 */
import { refOf, type Diagnostics } from '../diagnostics.js';
import type { Input, PodObject } from './inputs.js';
import { workloadPortMode } from './mtls.js';
import { pushOrigin } from './memo.js';
import { mtlsSettings, type ModelOptions } from './options.js';
import { protocolOf } from './protocol.js';
import { reachableOf } from './reachable.js';
import type { ModelService, ModelWorkload, MtlsMode, WorkloadPort } from './types.js';

/** A service's selector, its entries worked out once; `service` is its `namespace/name`. */
export interface Selector {
  readonly service: string;
  readonly entries: readonly (readonly [string, string])[];
}

/** The selectors of one namespace's services, in the services' order (a Service without a selector selects no pod). */
export function namespaceSelectors(services: readonly ModelService[]): Selector[] {
  const out: Selector[] = [];
  for (const service of services) {
    const entries = Object.entries(service.selector);
    if (entries.length > 0) out.push({ service: `${service.namespace}/${service.name}`, entries });
  }
  return out;
}

/** The services (`namespace/name`) of its namespace that select a pod, in the selectors' order. */
export function selecting(selectors: readonly Selector[], pod: PodObject): string[] {
  const labels = pod.metadata.labels;
  return selectors.filter((s) => s.entries.every(([k, v]) => labels[k] === v)).map((s) => s.service);
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

/** The workload of a Pod, given the services selecting it (in the services' order); none until it has an IP. */
export function buildWorkload(pod: Input<PodObject>, selected: readonly ModelService[], opts: ModelOptions, statuses: Diagnostics): ModelWorkload | undefined {
  const { metadata: meta, spec, status } = pod.object;
  const ref = refOf('Pod', meta);
  if (!status.podIP) {
    statuses.warn(ref, pod.origin, 'status.podIP', 'no IP assigned yet; the pod is not part of the mesh until it has one');
    return undefined;
  }
  const reachable = reachableOf(pod, statuses);
  return {
    namespace: meta.namespace,
    name: meta.name,
    ip: status.podIP,
    labels: meta.labels,
    serviceAccount: spec.serviceAccountName,
    identity: `spiffe://${opts.trustDomain}/ns/${meta.namespace}/sa/${spec.serviceAccountName}`,
    ports: workloadPorts(pod, selected, opts, statuses),
    services: selected.map((s) => `${s.namespace}/${s.name}`).sort(),
    ...(reachable ? { reachable } : {}),
    source: ref,
  };
}

/** Adds to `inputs` everything `buildWorkload` reads (model/memo.ts) besides the options: the Pod and where it came from, the services selecting it. */
export function workloadInputs(pod: Input<PodObject>, selected: readonly ModelService[], inputs: unknown[]): void {
  inputs.push(pod.object);
  pushOrigin(inputs, pod.origin);
  for (const service of selected) inputs.push(service);
}
