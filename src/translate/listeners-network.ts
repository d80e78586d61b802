/**
 * The network and listener filters sidecar listeners are made of: tcp_proxy, the HTTP connection
 * manager (its HTTP filters come from filters/index.ts, router last; its access log and tracing
 * from policy/observability.ts), the RBAC network filters of TCP ports (authorization.ts), and
 * original_dst.
 */
import { typed } from '../envoy/codec.js';
import type { Filter } from '../envoy/generated/envoy/config/listener/v3/Filter.js';
import type { FilterChain } from '../envoy/generated/envoy/config/listener/v3/FilterChain.js';
import type { ListenerFilter } from '../envoy/generated/envoy/config/listener/v3/ListenerFilter.js';
import type { RouteConfiguration } from '../envoy/generated/envoy/config/route/v3/RouteConfiguration.js';
import type { OriginalDst } from '../envoy/generated/envoy/extensions/filters/listener/original_dst/v3/OriginalDst.js';
import type { HttpConnectionManager } from '../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { TcpProxy } from '../envoy/generated/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy.js';
import { httpFilters, type HttpFilterContext } from './filters/index.js';
import type { PortAuthorization, RbacRules } from './authorization.js';
import { SIDECAR } from './names.js';
import type { ObservabilityFields } from './policy/observability.js';
import { ADS_CONFIG_SOURCE, FILTER_NAME, MESSAGE } from './common.js';

/** Restores the destination the connection had before it was captured. */
export const ORIGINAL_DST_FILTER: ListenerFilter = {
  name: FILTER_NAME.originalDst,
  typed_config: typed<OriginalDst>(MESSAGE.originalDst, {}),
};

/** A tcp_proxy to one cluster; its stats are prefixed with the cluster name, as Istio's are. */
export function tcpProxyFilter(cluster: string): Filter {
  return { name: FILTER_NAME.tcpProxy, typed_config: typed<TcpProxy>(MESSAGE.tcpProxy, { stat_prefix: cluster, cluster }) };
}

/** envoy.extensions.filters.network.rbac.v3.RBAC, the fields Trellis sets. */
export interface NetworkRbac {
  readonly rules: RbacRules;
  readonly stat_prefix: string;
}

/**
 * The RBAC network filters of an inbound TCP port, DENY then ALLOW (none without authorization): a
 * connection one refuses is closed before tcp_proxy opens one upstream. Enforced once, on the first
 * byte (Envoy's default), with the caller's certificate as the principal.
 */
export function networkRbacFilters(authz: PortAuthorization | undefined, port: number): Filter[] {
  const filter = (name: string, rules: RbacRules | undefined, action: string): Filter[] =>
    rules ? [{ name, typed_config: typed<NetworkRbac>(MESSAGE.networkRbac, { rules, stat_prefix: `inbound_${port}_${action}` }) }] : [];
  return [...filter(FILTER_NAME.networkRbacDeny, authz?.deny, 'deny'), ...filter(FILTER_NAME.networkRbacAllow, authz?.allow, 'allow')];
}

/** The route configuration of a connection manager: fetched by name over ADS, or inline. */
export type RouteSpecifier = { readonly rds: string } | { readonly inline: RouteConfiguration };

/**
 * What the path of a request is before an RBAC filter matches it, on an inbound connection manager
 * whose authorization matches paths: normalized as RFC 3986 says (dot segments removed, unreserved
 * characters decoded) with repeated slashes merged, so that `/api/./internal` or `/api//internal`
 * is matched (and forwarded) as `/api/internal`. Escaped slashes (%2F, %5C) are kept as they are.
 */
export const NORMALIZED_PATHS: Pick<HttpConnectionManager, 'normalize_path' | 'merge_slashes'> = { normalize_path: { value: true }, merge_slashes: true };

/** Connection manager settings besides the route and the filters: access log, tracing, path normalization. */
export type ConnectionManagerFields = ObservabilityFields & Partial<typeof NORMALIZED_PATHS>;

/**
 * An HTTP connection manager; its HTTP filters come from the ordered list, the router last.
 * `fields`: its access log and tracing, when a policy asks for them (policy/observability.ts); its
 * path normalization, when its authorization matches paths (NORMALIZED_PATHS).
 */
export function httpConnectionManagerFilter(
  statPrefix: string,
  routes: RouteSpecifier,
  context: HttpFilterContext,
  observability: ConnectionManagerFields = {},
): Filter {
  const route: Pick<HttpConnectionManager, 'rds' | 'route_config'> =
    'rds' in routes ? { rds: { route_config_name: routes.rds, config_source: ADS_CONFIG_SOURCE } } : { route_config: routes.inline };
  const hcm: HttpConnectionManager = {
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    ...route,
    http_filters: httpFilters(context),
    ...observability,
  };
  return { name: FILTER_NAME.httpConnectionManager, typed_config: typed(MESSAGE.httpConnectionManager, hcm) };
}

/** The chain a sidecar listener falls back to when nothing else matched: a tcp_proxy to a passthrough cluster. */
export function passthroughChain(name: string, cluster: string): FilterChain {
  return { name, filters: [tcpProxyFilter(cluster)] };
}

export const OUTBOUND_PASSTHROUGH_CHAIN: FilterChain = passthroughChain(SIDECAR.passthroughFilterChain, SIDECAR.passthroughCluster);
export const INBOUND_PASSTHROUGH_CHAIN: FilterChain = passthroughChain(SIDECAR.inboundPassthroughFilterChain, SIDECAR.inboundPassthroughCluster);
