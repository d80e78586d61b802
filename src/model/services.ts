/**
 * The Services of the model, one at a time: each with its ports and, per port, the endpoints of its
 * EndpointSlices (model/endpoints.ts). What is wrong is reported on the Service or the slice.
 */
import { refOf, type Diagnostics, type ObjectRef, type Origin } from '../diagnostics.js';
import { SERVICE_NAME_LABEL, type EndpointSliceObject, type Input, type MeshInputs, type ServiceObject } from './inputs.js';
import { endpointPod, selectEndpoints, type NodeLocalities } from './endpoints.js';
import { pushOrigin } from './memo.js';
import type { ModelOptions } from './options.js';
import { protocolOf } from './protocol.js';
import type { ModelService, ModelServicePort } from './types.js';

/** The EndpointSlices of each Service (`namespace/name`), in input order; a slice naming no Service is reported and left out. */
export function slicesByService(inputs: MeshInputs, statuses: Diagnostics): Map<string, Input<EndpointSliceObject>[]> {
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
    const list = out.get(key);
    if (list) list.push(slice);
    else out.set(key, [slice]);
  }
  return out;
}

/** What building a Service needs besides the Service: its slices, where the nodes are, the options and the statuses. */
export interface ServiceContext {
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

export function buildService(svc: Input<ServiceObject>, ctx: ServiceContext): ModelService | undefined {
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

/**
 * Adds to `inputs` everything `buildService` reads (model/memo.ts) besides the options: the Service
 * and where it came from, its slices and where they came from, and for each of their endpoints where
 * its node is and whether its pod is in the mesh.
 */
export function serviceInputs(
  svc: Input<ServiceObject>,
  slices: readonly Input<EndpointSliceObject>[],
  { nodes, meshPods }: Pick<ServiceContext, 'nodes' | 'meshPods'>,
  inputs: unknown[],
): void {
  inputs.push(svc.object);
  pushOrigin(inputs, svc.origin);
  for (const slice of slices) {
    inputs.push(slice.object);
    pushOrigin(inputs, slice.origin);
    for (const ep of slice.object.endpoints) {
      const node = ep.nodeName === undefined ? undefined : nodes.get(ep.nodeName);
      const pod = meshPods.size === 0 ? undefined : endpointPod(ep, slice.object.metadata.namespace);
      inputs.push(node?.region, node?.zone, pod !== undefined && meshPods.has(pod));
    }
  }
}
