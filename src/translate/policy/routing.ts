/**
 * `routing.http` → the policy's routes of a service port's virtual host, in order (the first match
 * wins). Each entry of a rule's `matches` becomes its own route (proxyless: one or two, match.ts),
 * all with the rule's action:
 *
 *   forwarding  route: backends (backends.ts) + the port's route settings (request timeout, retries,
 *               hash key: routes.ts) + rewrite (rewrite.ts) + mirror (mirror.ts)
 *   redirect    redirect (rewrite.ts)
 *   both        header changes (headers.ts), the per-filter settings of the filters (rate limit ...)
 *
 * Routes are named after the rule (`name`, else `http[<i>]`), with `.matches[<j>]` when a rule has
 * several matches. Proxyless gRPC implements no redirect, rewrite, header change or mirror: each is
 * noted on the policy and left out, and a redirect rule gives no route at all (gRPC NACKs a route
 * that is not a forwarding one).
 *
 * Every route is checked against Envoy's validation rules before it is kept: one that breaks them
 * (a header value with a line break, say) is an error on the policy and is left out, so that one
 * bad rule never makes a proxy reject the whole route configuration.
 */
import type { Diagnostic } from '../../diagnostics.js';
import { checkFields } from '../../envoy/codec.js';
import type { Route } from '../../envoy/generated/envoy/config/route/v3/Route.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import { validateMessage } from '../../envoy/validate.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { routeFilterConfigs } from '../filters/index.js';
import { ruleDestination } from './backends.js';
import { headerFields } from './headers.js';
import { ruleMatches, type EmittedMatch } from './match.js';
import { mirrorFields } from './mirror.js';
import { redirectAction, rewriteFields } from './rewrite.js';
import { routingNote, routingNotByGrpc, rulePath } from './routing-notes.js';
import type { RouteContext } from './types.js';

const ROUTE = 'envoy.config.route.v3.Route';

/** What every forwarding route of the port carries: request timeout, retry policy, hash policy. */
export type PortRouteSettings = Pick<RouteAction, 'timeout' | 'max_stream_duration' | 'retry_policy' | 'hash_policy'>;

const GRPC_GAPS = [
  ['redirect', 'redirects', 'this route is left out'],
  ['rewrite', 'rewrites', 'requests are forwarded unchanged'],
  ['requestHeaders', 'request header changes', 'left out'],
  ['responseHeaders', 'response header changes', 'left out'],
  ['mirror', 'request mirroring', 'left out'],
] as const;

function noteGrpcGaps(ctx: RouteContext, rule: HttpRouteRule, i: number, errors: Diagnostic[]): void {
  for (const [field, what, instead] of GRPC_GAPS) {
    if (rule[field] !== undefined) errors.push(routingNotByGrpc(ctx, `${rulePath(i)}.${field}`, what, instead));
  }
}

/** The route's own problems under Envoy's rules, as one note; undefined when it is valid. */
function invalid(ctx: RouteContext, route: Route, i: number): Diagnostic | undefined {
  const issues = checkFields(ROUTE, route);
  if (issues.length === 0) issues.push(...validateMessage(ROUTE, route));
  if (issues.length === 0) return undefined;
  const what = issues.map((x) => `${x.field || '(route)'}: ${x.message}`).join('; ');
  return routingNote(ctx, rulePath(i), `Envoy would reject the route (${what}); left out`);
}

type Action = (m: EmittedMatch) => Pick<Route, 'route' | 'redirect'>;

/** The action of rule `i` for each of its matches; undefined when the rule cannot send anywhere. */
function ruleAction(ctx: RouteContext, rule: HttpRouteRule, i: number, settings: PortRouteSettings): Action | undefined {
  if (rule.redirect) {
    const redirect = redirectAction(rule.redirect);
    return () => ({ redirect });
  }
  const destination = ruleDestination(ctx, rule, i);
  if (!destination) return undefined;
  if (ctx.target === 'proxyless') return () => ({ route: { ...destination, ...settings } });
  const mirror = mirrorFields(ctx, rule, i);
  return (m) => ({ route: { ...destination, ...settings, ...rewriteFields(rule, m.path), ...mirror } });
}

function ruleRoutes(ctx: RouteContext, rule: HttpRouteRule, i: number, settings: PortRouteSettings, errors: Diagnostic[]): Route[] {
  if (ctx.target === 'proxyless') {
    noteGrpcGaps(ctx, rule, i, errors);
    if (rule.redirect) return [];
  }
  const entries = ruleMatches(ctx, rule, i, errors);
  if (entries.every((e) => e.matches.length === 0)) return [];
  const action = ruleAction(ctx, rule, i, settings);
  if (!action) return [];
  const headers = ctx.target === 'sidecar' ? headerFields(rule) : {};
  const filters = routeFilterConfigs(ctx, rule);
  const base = rule.name ?? `http[${i}]`;
  const routes: Route[] = [];
  for (const { entry, matches } of entries) {
    const name = entries.length > 1 ? `${base}.matches[${entry}]` : base;
    for (const m of matches) {
      const route: Route = { name, match: m.match, ...action(m), ...headers, ...(filters ? { typed_per_filter_config: filters } : {}) };
      const problem = invalid(ctx, route, i);
      if (problem) errors.push(problem);
      else routes.push(route);
    }
  }
  return routes;
}

/** The routes of the port's policy (`routing.http`), in order; none without one. */
export function policyRoutes(ctx: RouteContext, settings: PortRouteSettings, errors: Diagnostic[]): Route[] {
  const rules = ctx.port.policy?.settings.routing?.http ?? [];
  return rules.flatMap((rule, i) => ruleRoutes(ctx, rule, i, settings, errors));
}
