/**
 * `routing.http[].mirror` → the RouteAction's request_mirror_policies: copies of a share of the
 * requests go to another service port of the policy's namespace (resolved in the model; one that
 * does not exist is reported there and left out), responses ignored. The share is a
 * FractionalPercent (filters/percent.ts: the smallest denominator that holds it exactly). Sidecars
 * only: gRPC does not mirror (routing.ts notes and leaves it out).
 */
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { fractionalPercent } from '../filters/percent.js';
import { outboundCluster } from '../names.js';
import type { RouteContext } from './types.js';

/** The mirror of rule `i` (nothing when its service port did not resolve). */
export function mirrorFields(ctx: RouteContext, rule: HttpRouteRule, i: number): Pick<RouteAction, 'request_mirror_policies'> {
  const to = ctx.port.routes?.[i]?.mirror;
  if (!rule.mirror || !to) return {};
  const cluster = outboundCluster(to.hostname, to.port);
  return { request_mirror_policies: [{ cluster, runtime_fraction: { default_value: fractionalPercent(rule.mirror.percent) } }] };
}
