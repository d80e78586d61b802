/**
 * Endpoints of a service port from its EndpointSlices, with the conditions honoured: ready
 * endpoints get traffic; terminating endpoints that still serve get it only when nothing is ready;
 * not-ready endpoints never do. Each endpoint's locality comes from its slice and its Node: the
 * region from the node's topology label (a slice has no region), the zone from the slice (the
 * EndpointSlice controller copies it from the node), else from the node's label.
 */
import { refOf, type ObjectRef, type Origin } from '../diagnostics.js';
import type { EndpointSliceObject, Input, NodeObject } from './inputs.js';
import { REGION_LABEL, ZONE_LABEL } from './inputs.js';
import type { Locality, ModelEndpoint } from './types.js';

/** Where each known Node is, by name: its region and zone labels ('' when it has none). */
export type NodeLocalities = ReadonlyMap<string, { readonly region: string; readonly zone: string }>;

export function nodeLocalities(nodes: readonly Input<NodeObject>[]): NodeLocalities {
  return new Map(nodes.map(({ object: { metadata: m } }) => [m.name, { region: m.labels[REGION_LABEL] ?? '', zone: m.labels[ZONE_LABEL] ?? '' }]));
}

type SliceEndpoint = EndpointSliceObject['endpoints'][number];

/** The locality of a slice's endpoint; an endpoint on an unknown node (or none) has no region. */
export function localityOf(ep: Pick<SliceEndpoint, 'nodeName' | 'zone'>, nodes: NodeLocalities): Locality {
  const node = ep.nodeName === undefined ? undefined : nodes.get(ep.nodeName);
  return { region: node?.region ?? '', zone: ep.zone ?? node?.zone ?? '', subZone: '' };
}

/** The Pod (`namespace/name`) behind a slice's endpoint, when the slice says so. */
export function endpointPod(ep: Pick<SliceEndpoint, 'targetRef'>, sliceNamespace: string): string | undefined {
  return ep.targetRef && (ep.targetRef.kind ?? 'Pod') === 'Pod' ? `${ep.targetRef.namespace ?? sliceNamespace}/${ep.targetRef.name}` : undefined;
}

interface Candidate extends ModelEndpoint {
  readonly serving: boolean;
}

type Warn = (source: ObjectRef, origin: Origin, field: string, message: string) => void;

function candidates(slice: Input<EndpointSliceObject>, portName: string, nodes: NodeLocalities, warn: Warn, meshPods: ReadonlySet<string>): Candidate[] {
  const s = slice.object;
  const source = refOf('EndpointSlice', s.metadata);
  const portIndex = s.ports.findIndex((p) => p.name === portName);
  const port = s.ports[portIndex]?.port;
  if (port === undefined) return [];
  if (s.addressType === 'FQDN') {
    warn(source, slice.origin, 'addressType', 'FQDN endpoints are not supported; the slice is ignored');
    return [];
  }
  const out: Candidate[] = [];
  for (const ep of s.endpoints) {
    const ready = ep.conditions.ready ?? true;
    const serving = ep.conditions.serving ?? ready;
    const terminating = ep.conditions.terminating ?? false;
    const pod = endpointPod(ep, s.metadata.namespace);
    for (const address of ep.addresses) {
      out.push({
        address,
        port,
        ready: ready && !terminating,
        serving: serving && terminating,
        locality: localityOf(ep, nodes),
        ...(pod ? { pod } : {}),
        ...(pod && meshPods.has(pod) ? { mesh: true as const } : {}),
        source,
      });
    }
  }
  return out;
}

function byAddress(a: ModelEndpoint, b: ModelEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/**
 * The endpoints that get traffic for one service port, across the service's slices, sorted.
 * The same address and port in two slices (as during a slice hand-over) counts once, ready first.
 * `meshPods` (`namespace/name`, mTLS enabled only): the pods whose endpoints are in the mesh.
 */
export function selectEndpoints(
  slices: readonly Input<EndpointSliceObject>[],
  portName: string,
  nodes: NodeLocalities,
  warn: Warn,
  meshPods: ReadonlySet<string> = new Set(),
): ModelEndpoint[] {
  const all = slices.flatMap((s) => candidates(s, portName, nodes, warn, meshPods));
  const ready = all.filter((e) => e.ready);
  const chosen = ready.length > 0 ? ready : all.filter((e) => e.serving).map((e) => ({ ...e, ready: false }));
  const seen = new Map<string, ModelEndpoint>();
  for (const { serving: _serving, ...e } of chosen) {
    const key = `${e.address}|${e.port}`;
    if (!seen.has(key)) seen.set(key, e);
  }
  return [...seen.values()].sort(byAddress);
}
