/**
 * The HTTP filters of every connection manager Trellis emits (sidecar outbound and inbound,
 * proxyless gRPC clients and servers), in the order they run, and the per-virtual-host and
 * per-route settings they take. Add a feature by writing its file here and placing it in this
 * list, before the router: there is no registration by import side effect.
 */
import { type Diagnostic, type ObjectRef, sortedRefs } from '../../diagnostics.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { sectionSources } from '../../policy/merge.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { proxylessObservabilityNotes } from '../policy/observability.js';
import type { PortContext } from '../policy/types.js';
import { authorizationAllow, authorizationDeny } from './authorization.js';
import { fault } from './fault.js';
import { localRateLimit } from './local-rate-limit.js';
import { router } from './router.js';
import type { HttpFilterContext, HttpFilterFeature, PerFilterConfig } from './types.js';

export type { HttpFilterContext, HttpFilterFeature, PerFilterConfig } from './types.js';

/**
 * Ordered. The router must stay last: Envoy and gRPC refuse a chain where it is not.
 *
 * Authorization first, DENY before ALLOW (Envoy's pattern for the two actions, and Istio's): a
 * request the mesh refuses costs nothing else, and no DENY can be bypassed by an ALLOW. Both are
 * inbound only, fault injection and rate limiting outbound only, so the two groups never meet in
 * one connection manager; Envoy Gateway, too, runs its authorization filters (ext_authz, RBAC)
 * before fault injection and the local rate limiter.
 *
 * Fault injection before local rate limiting, as both Istio and Envoy Gateway order them: Istio
 * puts fault in every chain and its documented local rate limit EnvoyFilter inserts the limiter
 * right before the router; Envoy Gateway ranks fault second, after health checks only, and the
 * limiter after authentication. An injected abort ends the request before any other filter spends
 * work on it and takes no rate-limit token (a fault experiment does not change what the limit lets
 * through); an injected delay meets the limiter as real latency would. The limiter sits right
 * before the router, guarding what would reach the upstream.
 */
export const HTTP_FILTERS: readonly HttpFilterFeature[] = [authorizationDeny, authorizationAllow, fault, localRateLimit, router];

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
 * The policies of a service port that decide which filters a connection manager routing to it
 * holds (fault injection, local rate limits of the service or of its routes): its `sources`.
 */
export function filterPolicySources(ctx: Pick<PortContext, 'port'>): ObjectRef[] {
  const policy = ctx.port.policy;
  const refs = sectionSources(policy, 'faultInjection', 'rateLimit');
  const routes = policy?.origins['routing.http'];
  if (routes && policy?.settings.routing?.http.some((r) => r.rateLimit !== undefined)) refs.push(routes);
  return sortedRefs(refs);
}

function nonEmpty(configs: PerFilterConfig): PerFilterConfig | undefined {
  return Object.keys(configs).length > 0 ? configs : undefined;
}

/**
 * The filter settings of a service port's virtual host (`typed_per_filter_config`): the
 * service-wide settings of its policy (fault injection, local rate limit). Undefined: none.
 *
 * What the port's policy asks that this proxy target cannot do goes to `errors`, once per call
 * (call it once per virtual host): invalid or unimplemented rate limits, the service's and its
 * routes' alike (routeFilterConfigs reports nothing), and, for proxyless gRPC, observability (its
 * servers have no access log or tracing to configure; see policy/observability.ts).
 */
export function virtualHostFilterConfigs(ctx: PortContext, errors: Diagnostic[] = []): PerFilterConfig | undefined {
  const configs: PerFilterConfig = {};
  for (const feature of HTTP_FILTERS) {
    const config = feature.virtualHostConfig?.(ctx, errors);
    if (config) configs[feature.filterName] = config;
  }
  if (ctx.target === 'proxyless') errors.push(...proxylessObservabilityNotes(ctx));
  return nonEmpty(configs);
}

/**
 * The filter settings of one route of a policy's `routing.http` (`typed_per_filter_config`): its
 * own rate limit, which replaces the service's on that route. Undefined: none.
 */
export function routeFilterConfigs(ctx: PortContext, rule: HttpRouteRule): PerFilterConfig | undefined {
  const configs: PerFilterConfig = {};
  for (const feature of HTTP_FILTERS) {
    const config = feature.routeConfig?.(ctx, rule);
    if (config) configs[feature.filterName] = config;
  }
  return nonEmpty(configs);
}
