/**
 * An HTTP filter feature: one file per feature in this folder, listed in index.ts in the order the
 * filters run. A feature decides, for one HTTP connection manager, whether it contributes a filter,
 * and, for the virtual host of one service port and for the routes of its policy, what settings
 * the filter takes there (`typed_per_filter_config`, keyed by the filter's name).
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { Any } from '../../envoy/generated/google/protobuf/Any.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import type { PortContext, ProxyTarget } from '../policy/types.js';

/** `typed_per_filter_config` of a virtual host or route: filter name → its settings there. */
export type PerFilterConfig = Record<string, Any>;

/** Where the HTTP connection manager being built sits. */
export interface HttpFilterContext {
  /** outbound: the application calling a service; inbound: a client calling the application. */
  readonly direction: 'inbound' | 'outbound';
  /** The port the connection manager serves. */
  readonly port: number;
  /** Who runs the connection manager: an Envoy sidecar (the default) or proxyless gRPC. */
  readonly target?: ProxyTarget;
  /**
   * The service ports whose requests go through this connection manager (default: none known).
   * Outbound: every service port it routes to. Inbound: the service ports that target the
   * workload port it serves.
   */
  readonly services?: readonly PortContext[];
  /** The mesh's SPIFFE trust domain: inbound authorization matches a caller's namespace by it. */
  readonly trustDomain?: string;
}

export interface HttpFilterFeature {
  /** The feature's name, as in its file name; for tests and logs. */
  readonly feature: string;
  /** Envoy's name of the filter: the key of its `typed_per_filter_config` entries. */
  readonly filterName: string;
  /** The filter for this connection manager, or undefined when the feature has nothing to do there. */
  filter(context: HttpFilterContext): HttpFilter | undefined;
  /**
   * The filter's settings on the virtual host of one service port (undefined: none). What the
   * port's policy asks and cannot be honoured (for that proxy target) is reported in `errors`.
   */
  virtualHostConfig?(ctx: PortContext, errors: Diagnostic[]): Any | undefined;
  /** The filter's settings on the route of one rule of the port's `routing.http` (undefined: none). */
  routeConfig?(ctx: PortContext, rule: HttpRouteRule): Any | undefined;
}

/** The target of a connection manager: sidecar unless told otherwise. */
export function targetOf(context: HttpFilterContext): ProxyTarget {
  return context.target ?? 'sidecar';
}
