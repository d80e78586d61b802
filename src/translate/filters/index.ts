/**
 * The HTTP filters of every sidecar connection manager, in the order they run. Add a feature by
 * writing its file here and placing it in this list, before the router: there is no registration
 * by import side effect.
 */
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { router } from './router.js';
import type { HttpFilterContext, HttpFilterFeature } from './types.js';

export type { HttpFilterContext, HttpFilterFeature } from './types.js';

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
