/**
 * The HTTP filters of every sidecar connection manager, in the order they run. Add a feature by
 * writing its file here and placing it in this list, before the router: there is no registration
 * by import side effect.
 */
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { router } from './router.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import type { PortContext } from '../policy/types.js';
import type { HttpFilterContext, HttpFilterFeature, PerFilterConfig } from './types.js';

export type { HttpFilterContext, HttpFilterFeature, PerFilterConfig } from './types.js';

/** Ordered. The router must stay last: Envoy and gRPC refuse a chain where it is not. */
export const HTTP_FILTERS: readonly HttpFilterFeature[] = [router];

/** The filters for one connection manager, in order; the router is always the last one. */
export function httpFilters(context: HttpFilterContext): HttpFilter[] {
  const out: HttpFilter[] = [];
  for (const feature of HTTP_FILTERS) {
    const filter = feature.filter(context);
    if (filter) out.push(filter);
  }
  return out;
}

/**
 * The filter settings of a service port's virtual host (`typed_per_filter_config`): the
 * service-wide settings of its policy (fault injection, local rate limit). Undefined: none.
 */
export function virtualHostFilterConfigs(_ctx: PortContext): PerFilterConfig | undefined {
  return undefined;
}

/** The filter settings of one route of a policy's `routing.http` (`typed_per_filter_config`). Undefined: none. */
export function routeFilterConfigs(_ctx: PortContext, _rule: HttpRouteRule): PerFilterConfig | undefined {
  return undefined;
}
