/**
 * The router: forwards each request as the route configuration says. Envoy and gRPC both require it,
 * and last in the list (see index.ts).
 */
import { typed } from '../../envoy/codec.js';
import type { Router } from '../../envoy/generated/envoy/extensions/filters/http/router/v3/Router.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { FILTER_NAME, MESSAGE } from '../common.js';
import type { HttpFilterFeature } from './types.js';

/** The router filter itself; proxyless gRPC takes it alone. */
export const ROUTER_FILTER: HttpFilter = { name: FILTER_NAME.router, typed_config: typed<Router>(MESSAGE.router, {}) };

export const router: HttpFilterFeature = {
  feature: 'router',
  filterName: FILTER_NAME.router,
  filter: () => ROUTER_FILTER,
};
