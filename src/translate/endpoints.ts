/**
 * ClusterLoadAssignments (EDS) of the outbound EDS clusters: endpoints grouped by locality, each
 * locality weighted by how many endpoints it holds (gRPC drops a locality without a weight ≥ 1).
 * Ready endpoints are HEALTHY; the terminating-but-serving fallback ones (the model lists them only
 * when nothing is ready) are DRAINING. Envoy does not balance to DRAINING hosts normally (older
 * versions count them unhealthy, newer ones exclude them) but does in panic mode: since they are
 * listed only when no endpoint is ready, the cluster is 0% healthy, below the default panic
 * threshold (50%), and they get the traffic. A policy that sets the panic threshold to 0 would
 * have to change this. A port with no endpoints still gets its (empty)
 * assignment, so that Envoy knows the cluster has none rather than waiting for one.
 *
 * Every locality is at priority 0 here: this assignment is shared by every proxy. A port whose
 * policy is locality-aware also gets one assignment per proxy locality, with priorities
 * (policy/locality.ts passes `priorityOf` to localityGroups).
 */
import type { ClusterLoadAssignment } from '../envoy/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LbEndpoint } from '../envoy/generated/envoy/config/endpoint/v3/LbEndpoint.js';
import type { LocalityLbEndpoints } from '../envoy/generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { Locality as EnvoyLocality } from '../envoy/generated/envoy/config/core/v3/Locality.js';
import type { Locality, ModelEndpoint, ModelService, ModelServicePort } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import { outboundCluster } from './names.js';
import { socketAddress } from './common.js';
import { MESH_ENDPOINT_METADATA } from './mtls.js';
import { sortedRefs } from '../diagnostics.js';

/** A locality as a key (JSON of its three parts): equal keys, equal localities. */
export function localityKey(l: Locality): string {
  return JSON.stringify([l.region, l.zone, l.subZone]);
}

/** Envoy's Locality with only the parts that are set. */
function envoyLocality(l: Locality): EnvoyLocality {
  return { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.subZone ? { sub_zone: l.subZone } : {}) };
}

/** How an endpoint is marked for a kind of proxy. */
export type EndpointHealth = (e: ModelEndpoint) => 'HEALTHY' | 'DRAINING' | 'UNKNOWN';

/** Envoy sidecars: the terminating-serving fallback is DRAINING (see above). */
export const sidecarHealth: EndpointHealth = (e) => (e.ready ? 'HEALTHY' : 'DRAINING');

/** How a kind of proxy is given an endpoint. */
export interface EndpointForm {
  readonly health: EndpointHealth;
  /**
   * Endpoints in the mesh (the model marks them only when mTLS is on) carry the metadata their
   * cluster's transport socket match reads (mtls.ts): Envoy sidecars only.
   */
  readonly meshMetadata: boolean;
}

export const SIDECAR_ENDPOINTS: EndpointForm = { health: sidecarHealth, meshMetadata: true };

function lbEndpoint(e: ModelEndpoint, form: EndpointForm): LbEndpoint {
  return {
    endpoint: { address: socketAddress(e.address, e.port) },
    health_status: form.health(e),
    ...(e.mesh && form.meshMetadata ? { metadata: MESH_ENDPOINT_METADATA } : {}),
  };
}

interface Group {
  readonly key: string;
  readonly locality: Locality;
  readonly endpoints: ModelEndpoint[];
  priority: number;
}

function groupsOf(endpoints: readonly ModelEndpoint[]): Group[] {
  const groups = new Map<string, Group>();
  for (const e of endpoints) {
    const key = localityKey(e.locality);
    const group = groups.get(key);
    if (group) group.endpoints.push(e);
    else groups.set(key, { key, locality: e.locality, endpoints: [e], priority: 0 });
  }
  return [...groups.values()];
}

/** Gives the groups dense priorities (0, 1, 2 ... with no gap) in the order of their ranks. */
function rank(groups: Group[], priorityOf: (l: Locality) => number): void {
  const ranks = groups.map((g) => priorityOf(g.locality));
  const dense = new Map([...new Set(ranks)].sort((a, b) => a - b).map((r, i) => [r, i]));
  groups.forEach((g, i) => (g.priority = dense.get(ranks[i] ?? 0) ?? 0));
}

/**
 * Endpoints grouped by locality; localities sorted, endpoints in the model's order (address, port).
 * With `priorityOf` (a rank per locality, lower is preferred), each locality gets a `priority`: the
 * ranks made dense from 0 (gRPC rejects an assignment that skips one), localities sorted by
 * priority first.
 */
export function localityGroups(endpoints: readonly ModelEndpoint[], form: EndpointForm, priorityOf?: (l: Locality) => number): LocalityLbEndpoints[] {
  const groups = groupsOf(endpoints);
  if (priorityOf) rank(groups, priorityOf);
  return groups
    .sort((a, b) => a.priority - b.priority || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((g) => ({
      locality: envoyLocality(g.locality),
      ...(priorityOf ? { priority: g.priority } : {}),
      load_balancing_weight: { value: g.endpoints.length },
      lb_endpoints: g.endpoints.map((e) => lbEndpoint(e, form)),
    }));
}

/** The ClusterLoadAssignment of one service port's EDS cluster. */
export function outboundEndpoints(service: ModelService, port: ModelServicePort): DesiredResource<'endpoint'> {
  const name = outboundCluster(service.hostname, port.port);
  const message: ClusterLoadAssignment = { cluster_name: name, endpoints: localityGroups(port.endpoints, SIDECAR_ENDPOINTS) };
  return { name, message, sources: sortedRefs([service.source, ...port.endpoints.map((e) => e.source)]) };
}
