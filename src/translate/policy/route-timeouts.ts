/**
 * `timeouts.request` and the per-try timeout of a service port's routes.
 *
 *   timeouts.request  sidecars: route.timeout (unset: 0, no timeout, as without a policy: Envoy's
 *                     15 s default would cut streams). Proxyless gRPC (gRFC A31):
 *                     route.max_stream_duration.max_stream_duration, which gRPC applies as the
 *                     call's deadline unless the application's own is sooner (0: the
 *                     application's deadline alone)
 *   per-try           retries.perTryTimeout, else timeouts.perTry (a note on timeouts.perTry when
 *                     both are set): retry_policy.per_try_timeout, see retries.ts
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import { ROUTE_TIMEOUT } from '../common.js';
import { isPositive, protoDuration } from './duration.js';
import { policyNote } from './notes.js';
import type { PortContext } from './types.js';

/** The duration of the policy field `path` (`timeouts.request`); undefined, with a note, if it cannot be one. */
export function policyDuration(ctx: PortContext, path: string, text: string, errors: Diagnostic[]): Duration | undefined {
  const d = protoDuration(text);
  if (!d) errors.push(policyNote(ctx, path, `"${text}" is not a duration protobuf can carry; left out`));
  return d;
}

/** The request timeout fields of every route of the port. */
export function requestTimeout(ctx: PortContext, errors: Diagnostic[]): Pick<RouteAction, 'timeout' | 'max_stream_duration'> {
  const text = ctx.port.policy?.settings.timeouts?.request;
  const d = text === undefined ? undefined : policyDuration(ctx, 'timeouts.request', text, errors);
  if (ctx.target === 'proxyless') return d ? { max_stream_duration: { max_stream_duration: d } } : {};
  return { timeout: d ?? ROUTE_TIMEOUT };
}

/** The per-try timeout setting in force and its field: retries.perTryTimeout beats timeouts.perTry. */
export function perTrySetting(ctx: PortContext): { path: string; text: string } | undefined {
  const settings = ctx.port.policy?.settings;
  const retries = settings?.retries?.perTryTimeout;
  if (retries !== undefined) return { path: 'retries.perTryTimeout', text: retries };
  const timeouts = settings?.timeouts?.perTry;
  return timeouts === undefined ? undefined : { path: 'timeouts.perTry', text: timeouts };
}

/**
 * The per-try timeout for sidecars; undefined when none is set or it is 0 (Envoy takes only a
 * non-zero one; without it each try may take the whole request timeout).
 */
export function perTryTimeout(ctx: PortContext, errors: Diagnostic[]): Duration | undefined {
  const setting = perTrySetting(ctx);
  if (!setting) return undefined;
  const other = ctx.port.policy?.settings.timeouts?.perTry;
  if (setting.path === 'retries.perTryTimeout' && other !== undefined) {
    errors.push(policyNote(ctx, 'timeouts.perTry', `retries.perTryTimeout (${setting.text}) applies instead`));
  }
  const d = policyDuration(ctx, setting.path, setting.text, errors);
  return d && isPositive(d) ? d : undefined;
}
