/**
 * `/debug/services`: every Service of the model as a person reads it — per port, the endpoints that
 * get traffic grouped by locality, and the TrafficPolicies attached to the port with the fields each
 * one sets there. Pure: the model comes in as data.
 */
import { compareRefs, compareText, formatRef, sameRef } from '../diagnostics.js';
import { servicePortRef } from '../model/references.js';
import type { Locality, MeshModel, ModelEndpoint, ModelPolicy, ModelService, ModelServicePort } from '../model/types.js';

export interface EndpointView {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  readonly pod?: string;
}

export interface LocalityView {
  /** `region/zone/subZone`, `(unknown)` for a part that is not known. */
  readonly locality: string;
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
  readonly endpoints: readonly EndpointView[];
}

export interface PortPolicyView {
  /** `TrafficPolicy namespace/name` */
  readonly policy: string;
  readonly namespace: string;
  readonly name: string;
  /** The merged fields this policy won on the port (`retries.attempts`), sorted; empty when it won none or sets only authorization. */
  readonly fields: readonly string[];
}

export interface ServicePortView {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  readonly mtls?: string;
  readonly endpoints: number;
  readonly localities: readonly LocalityView[];
  /** Every TrafficPolicy attached to the port (accepted or not), sorted. */
  readonly policies: readonly PortPolicyView[];
}

export interface ServiceView {
  /** `Service namespace/name` */
  readonly service: string;
  readonly namespace: string;
  readonly name: string;
  readonly hostname: string;
  readonly kind: string;
  readonly ports: readonly ServicePortView[];
}

export interface ServicesResponse {
  readonly services: readonly ServiceView[];
}

const UNKNOWN = '(unknown)';

function localityName(l: Locality): string {
  return [l.region, l.zone, l.subZone].map((part) => part || UNKNOWN).join('/');
}

/** Endpoints grouped by locality, localities sorted by name, endpoints as the model sorts them. */
function byLocality(endpoints: readonly ModelEndpoint[]): LocalityView[] {
  const groups = new Map<string, { locality: Locality; endpoints: EndpointView[] }>();
  for (const e of endpoints) {
    const key = localityName(e.locality);
    const group = groups.get(key) ?? { locality: e.locality, endpoints: [] };
    group.endpoints.push({ address: e.address, port: e.port, ready: e.ready, ...(e.pod !== undefined ? { pod: e.pod } : {}) });
    groups.set(key, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([locality, g]) => ({ locality, region: g.locality.region, zone: g.locality.zone, subZone: g.locality.subZone, endpoints: g.endpoints }));
}

function portPolicies(service: ModelService, port: ModelServicePort, attached: ReadonlyMap<string, readonly ModelPolicy[]>): PortPolicyView[] {
  const origins = Object.entries(port.policy?.origins ?? {});
  const policies = [...(attached.get(servicePortRef(service.namespace, service.name, port.port)) ?? [])].sort((a, b) => compareRefs(a.source, b.source));
  return policies.map((p) => ({
    policy: formatRef(p.source),
    namespace: p.namespace,
    name: p.name,
    fields: origins
      .filter(([, ref]) => sameRef(ref, p.source))
      .map(([field]) => field)
      .sort(compareText),
  }));
}

/** Policies by the service port they attach to (`Service ns/name:port`). */
function attachments(policies: readonly ModelPolicy[]): Map<string, ModelPolicy[]> {
  const byPort = new Map<string, ModelPolicy[]>();
  for (const p of policies)
    for (const port of p.attachedTo) {
      const list = byPort.get(port);
      if (list) list.push(p);
      else byPort.set(port, [p]);
    }
  return byPort;
}

export function buildServices(model: Pick<MeshModel, 'services' | 'policies'> | undefined): ServicesResponse {
  if (!model) return { services: [] };
  const attached = attachments(model.policies);
  const services = [...model.services]
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name))
    .map((s) => ({
      service: formatRef(s.source),
      namespace: s.namespace,
      name: s.name,
      hostname: s.hostname,
      kind: s.kind,
      ports: s.ports.map((p) => ({
        name: p.name,
        port: p.port,
        protocol: p.protocol,
        ...(p.mtls !== undefined ? { mtls: p.mtls } : {}),
        endpoints: p.endpoints.length,
        localities: byLocality(p.endpoints),
        policies: portPolicies(s, p, attached),
      })),
    }));
  return { services };
}
