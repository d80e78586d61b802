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
 */
import type { ClusterLoadAssignment } from '../envoy/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LbEndpoint } from '../envoy/generated/envoy/config/endpoint/v3/LbEndpoint.js';
import type { LocalityLbEndpoints } from '../envoy/generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { Locality as EnvoyLocality } from '../envoy/generated/envoy/config/core/v3/Locality.js';
import type { Locality, ModelEndpoint, ModelService, ModelServicePort } from '../model/types.js';
import type { DesiredResource } from '../xds/cache.js';
import { outboundCluster } from './names.js';
import { socketAddress } from './common.js';
import { sortedUnique } from './translation.js';

function localityKey(l: Locality): string {
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

function lbEndpoint(e: ModelEndpoint, health: EndpointHealth): LbEndpoint {
  return { endpoint: { address: socketAddress(e.address, e.port) }, health_status: health(e) };
}

/** Endpoints grouped by locality; localities sorted, endpoints in the model's order (address, port). */
export function localityGroups(endpoints: readonly ModelEndpoint[], health: EndpointHealth): LocalityLbEndpoints[] {
  const groups = new Map<string, { locality: Locality; endpoints: ModelEndpoint[] }>();
  for (const e of endpoints) {
    const key = localityKey(e.locality);
    const group = groups.get(key);
    if (group) group.endpoints.push(e);
    else groups.set(key, { locality: e.locality, endpoints: [e] });
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({
      locality: envoyLocality(g.locality),
      load_balancing_weight: { value: g.endpoints.length },
      lb_endpoints: g.endpoints.map((e) => lbEndpoint(e, health)),
    }));
}

/** The ClusterLoadAssignment of one service port's EDS cluster. */
export function outboundEndpoints(service: ModelService, port: ModelServicePort): DesiredResource<'endpoint'> {
  const name = outboundCluster(service.hostname, port.port);
  const message: ClusterLoadAssignment = { cluster_name: name, endpoints: localityGroups(port.endpoints, sidecarHealth) };
  return { name, message, sources: sortedUnique([service.source, ...port.endpoints.map((e) => e.source)]) };
}
