/**
 * An HTTP filter feature: one file per feature in this folder, listed in index.ts in the order the
 * filters run. A feature decides, for one HTTP connection manager, whether it contributes a filter.
 */
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { Any } from '../../envoy/generated/google/protobuf/Any.js';

/** `typed_per_filter_config` of a virtual host or route: filter name → its settings there. */
export type PerFilterConfig = Record<string, Any>;

/** Where the HTTP connection manager being built sits. */
export interface HttpFilterContext {
  /** outbound: the application calling a service; inbound: a client calling the application. */
  readonly direction: 'inbound' | 'outbound';
  /** The port the connection manager serves. */
  readonly port: number;
}

export interface HttpFilterFeature {
  /** The feature's name, as in its file name; for tests and logs. */
  readonly feature: string;
  /** The filter for this connection manager, or undefined when the feature has nothing to do there. */
  filter(context: HttpFilterContext): HttpFilter | undefined;
}
