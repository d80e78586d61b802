/**
 * The route-level sections of a TrafficPolicy (routing, retries, request and per-try timeouts, the
 * hash key of consistent hashing, per-route filter settings): the routes of a service port's
 * virtual host, sidecar or proxyless.
 *
 *   1. the policy's routes (`routing.http`, routing.ts), in order
 *   2. the default route: every request to the port's own cluster — unless the last policy route
 *      already matches every request
 *
 * Every forwarding route carries the port's settings: the request timeout (route-timeouts.ts), the
 * retry policy (retries.ts) and the hash key (hash.ts). Without a policy: the default route alone,
 * exactly as before policies existed.
 */
import type { Diagnostic, ObjectRef } from '../../diagnostics.js';
import type { Route } from '../../envoy/generated/envoy/config/route/v3/Route.js';
import { sectionSources } from '../../policy/merge.js';
import { outboundCluster } from '../names.js';
import { guarded } from '../translation.js';
import { hashPolicies } from './hash.js';
import { matchAllPrefix, matchesEverything } from './match.js';
import { retryPolicy } from './retries.js';
import { requestTimeout } from './route-timeouts.js';
import { policyRoutes, type PortRouteSettings } from './routing.js';
import type { PortContext, RouteContext } from './types.js';

/** The policies that shape the routes: what the route configuration's `sources` add. */
export function routePolicySources(ctx: PortContext): ObjectRef[] {
  return sectionSources(ctx.port.policy, 'routing', 'retries', 'timeouts', 'loadBalancing', 'faultInjection', 'rateLimit');
}

/** The settings every forwarding route of the port carries. */
function portRouteSettings(ctx: PortContext, errors: Diagnostic[]): PortRouteSettings {
  const retry = retryPolicy(ctx, errors);
  const hash = hashPolicies(ctx, errors);
  return { ...requestTimeout(ctx, errors), ...(retry ? { retry_policy: retry } : {}), ...(hash ? { hash_policy: hash } : {}) };
}

/**
 * The routes of one service port, in order. The default route matches on the path prefix '/'
 * (sidecars) or '' (gRPC: every path); sidecars disable Envoy's 15 s default timeout unless a
 * policy sets one, gRPC has no route timeout unless a policy sets one.
 */
export function serviceRoutes(ctx: RouteContext, errors: Diagnostic[]): Route[] {
  const settings = portRouteSettings(ctx, errors);
  const routes: Route[] = [];
  const policy = ctx.port.policy?.origins['routing.http'];
  // An unexpected failure in one policy's routes leaves the port with its default route.
  if (policy) guarded(policy, errors, () => routes.push(...policyRoutes(ctx, settings, errors)));
  const last = routes.at(-1);
  if (last?.match && matchesEverything(last.match)) return routes;
  const cluster = outboundCluster(ctx.service.hostname, ctx.port.port);
  return [...routes, { match: { prefix: matchAllPrefix(ctx.target) }, route: { cluster, ...settings } }];
}
