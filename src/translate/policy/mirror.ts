/**
 * `routing.http[].mirror` → the RouteAction's request_mirror_policies: copies of a share of the
 * requests go to another service port of the policy's namespace (port default: the target's port),
 * responses ignored. The share is a FractionalPercent (filters/percent.ts: the smallest denominator
 * that holds it exactly). Sidecars only: gRPC does not mirror
 * (routing.ts notes and leaves it out).
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { fractionalPercent } from '../filters/percent.js';
import { outboundCluster } from '../names.js';
import { resolveServicePort } from './backends.js';
import { rulePath } from './routing-notes.js';
import type { RouteContext } from './types.js';

/** The mirror of rule `i` (nothing, with an error, when its service port does not exist). */
export function mirrorFields(ctx: RouteContext, rule: HttpRouteRule, i: number, errors: Diagnostic[]): Pick<RouteAction, 'request_mirror_policies'> {
  const mirror = rule.mirror;
  if (!mirror) return {};
  const ref = resolveServicePort(ctx, mirror.service, mirror.port, `${rulePath(i)}.mirror`, errors);
  if (!ref) return {};
  const cluster = outboundCluster(ref.service.hostname, ref.port.port);
  return { request_mirror_policies: [{ cluster, runtime_fraction: { default_value: fractionalPercent(mirror.percent) } }] };
}
