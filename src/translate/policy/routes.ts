/**
 * The route-level sections of a TrafficPolicy (routing, retries, request and per-try timeouts, the
 * hash key of consistent hashing, per-route filter settings): the routes of a service port's
 * virtual host, sidecar or proxyless.
 */
import type { Route } from '../../envoy/generated/envoy/config/route/v3/Route.js';
import { sectionSources } from '../../policy/merge.js';
import { ROUTE_TIMEOUT } from '../common.js';
import { outboundCluster } from '../names.js';
import type { TranslationError } from '../translation.js';
import type { PortContext } from './types.js';

/** The policies that shape the routes: what the route configuration's `sources` add. */
export function routePolicySources(ctx: PortContext): string[] {
  return sectionSources(ctx.port.policy, 'routing', 'retries', 'timeouts', 'loadBalancing', 'faultInjection', 'rateLimit');
}

/**
 * The routes of one service port, in order: without a policy, every request to the port's
 * cluster. Sidecars match on the path prefix '/' and disable Envoy's 15 s default timeout;
 * gRPC matches on '' (every path) and has no route timeout unless a policy sets one.
 */
export function serviceRoutes(ctx: PortContext, _errors: TranslationError[]): Route[] {
  const cluster = outboundCluster(ctx.service.hostname, ctx.port.port);
  if (ctx.target === 'proxyless') return [{ match: { prefix: '' }, route: { cluster } }];
  return [{ match: { prefix: '/' }, route: { cluster, timeout: ROUTE_TIMEOUT } }];
}
