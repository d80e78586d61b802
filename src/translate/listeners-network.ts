/**
 * The network and listener filters sidecar listeners are made of: tcp_proxy, the HTTP connection
 * manager (its HTTP filters come from filters/index.ts, router last; its access log and tracing
 * from policy/observability.ts), and original_dst.
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

/** The route configuration of a connection manager: fetched by name over ADS, or inline. */
export type RouteSpecifier = { readonly rds: string } | { readonly inline: RouteConfiguration };

/**
 * An HTTP connection manager; its HTTP filters come from the ordered list, the router last.
 * `observability`: its access log and tracing, when a policy asks for them (policy/observability.ts).
 */
export function httpConnectionManagerFilter(
  statPrefix: string,
  routes: RouteSpecifier,
  context: HttpFilterContext,
  observability: ObservabilityFields = {},
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
