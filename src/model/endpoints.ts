/**
 * Endpoints of a service port from its EndpointSlices, with the conditions honoured: ready
 * endpoints get traffic; terminating endpoints that still serve get it only when nothing is ready;
 * not-ready endpoints never do.
 */
import type { EndpointSliceObject, Input, Origin } from './inputs.js';
import { objectRef } from './inputs.js';
import type { FieldError, ModelEndpoint } from './types.js';

interface Candidate extends ModelEndpoint {
  readonly serving: boolean;
}

function candidates(slice: Input<EndpointSliceObject>, portName: string, warn: (source: string, origin: Origin, e: FieldError) => void): Candidate[] {
  const s = slice.object;
  const source = objectRef('EndpointSlice', s.metadata);
  const portIndex = s.ports.findIndex((p) => p.name === portName);
  const port = s.ports[portIndex]?.port;
  if (port === undefined) return [];
  if (s.addressType === 'FQDN') {
    warn(source, slice.origin, { field: 'addressType', message: 'FQDN endpoints are not supported; the slice is ignored' });
    return [];
  }
  const out: Candidate[] = [];
  for (const ep of s.endpoints) {
    const ready = ep.conditions.ready ?? true;
    const serving = ep.conditions.serving ?? ready;
    const terminating = ep.conditions.terminating ?? false;
    const pod = ep.targetRef && (ep.targetRef.kind ?? 'Pod') === 'Pod' ? `${ep.targetRef.namespace ?? s.metadata.namespace}/${ep.targetRef.name}` : undefined;
    for (const address of ep.addresses) {
      out.push({
        address,
        port,
        ready: ready && !terminating,
        serving: serving && terminating,
        locality: { region: '', zone: ep.zone ?? '', subZone: '' },
        ...(pod ? { pod } : {}),
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
 */
export function selectEndpoints(
  slices: readonly Input<EndpointSliceObject>[],
  portName: string,
  warn: (source: string, origin: Origin, e: FieldError) => void,
): ModelEndpoint[] {
  const all = slices.flatMap((s) => candidates(s, portName, warn));
  const ready = all.filter((e) => e.ready);
  const chosen = ready.length > 0 ? ready : all.filter((e) => e.serving).map((e) => ({ ...e, ready: false }));
  const seen = new Map<string, ModelEndpoint>();
  for (const { serving: _serving, ...e } of chosen) {
    const key = `${e.address}|${e.port}`;
    if (!seen.has(key)) seen.set(key, e);
  }
  return [...seen.values()].sort(byAddress);
}
