/**
 * Type URLs, declared once, with the message type each one carries.
 */
import type { Cluster } from './generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from './generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { Listener } from './generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from './generated/envoy/config/route/v3/RouteConfiguration.js';
import type { Secret } from './generated/envoy/extensions/transport_sockets/tls/v3/Secret.js';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The xDS resource kinds Trellis serves, in the order state-of-the-world pushes them. */
export const TypeUrl = {
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type ResourceKind = keyof typeof TypeUrl;
export type ResourceTypeUrl = (typeof TypeUrl)[ResourceKind];

/** The message type each resource kind carries. */
export interface ResourceMessages {
  secret: Secret;
  cluster: Cluster;
  endpoint: ClusterLoadAssignment;
  listener: Listener;
  route: RouteConfiguration;
}

export type ResourceMessage<K extends ResourceKind> = ResourceMessages[K];

/**
 * The order in which a state-of-the-world ADS stream answers when several types changed at once:
 * clusters before their endpoints, both before the listeners and routes that refer to them, so
 * that Envoy never meets a reference to a cluster it lacks. Secrets come first: clusters and
 * listeners that need them wait (warm) until they arrive.
 */
export const PUSH_ORDER: readonly ResourceKind[] = ['secret', 'cluster', 'endpoint', 'listener', 'route'];

/** Short names as operators know them (CDS, EDS, ...), for logs, metrics and the debug endpoint. */
export const SHORT_NAME: Readonly<Record<ResourceKind, string>> = {
  secret: 'SDS',
  cluster: 'CDS',
  endpoint: 'EDS',
  listener: 'LDS',
  route: 'RDS',
};

const BY_URL = new Map<string, ResourceKind>((Object.entries(TypeUrl) as [ResourceKind, string][]).map(([kind, url]) => [url, kind]));

/** The kind for a type URL, or undefined for a type Trellis does not serve. */
export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  return BY_URL.get(typeUrl);
}

/** `type.googleapis.com/a.b.C` → `a.b.C`. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.startsWith(TYPE_URL_PREFIX) ? typeUrl.slice(TYPE_URL_PREFIX.length) : typeUrl;
}
