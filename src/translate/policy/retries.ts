/**
 * `retries` (and the per-try timeout, route-timeouts.ts) → the retry_policy of every route of the
 * service port.
 *
 * Sidecars: retry_on (the conditions joined by ','; unset: connect-failure, refused-stream,
 * unavailable, cancelled, Istio's choice without its 503: failures where the request never reached
 * the application, and gRPC statuses safe to retry), num_retries (attempts), per_try_timeout,
 * retry_back_off {base_interval, max_interval} (Envoy requires both above 0; one that is not is
 * noted and Envoy's default back-off, 25ms up to 250ms, applies), retriable_status_codes. A per-try
 * timeout without `retries` still gets a retry_policy, with num_retries 0: Envoy applies
 * per_try_timeout to the single try, bounding it as asked, and retries nothing.
 *
 * Proxyless gRPC (gRFC A44, as grpc-js-xds 1.14 reads it):
 *   - retry_on: only gRPC status names count (cancelled, deadline-exceeded, internal,
 *     resource-exhausted, unavailable); the others are noted and left out, and with none left
 *     there is no retry_policy (gRPC would not retry anyway)
 *   - num_retries must be ≥ 1 or the route configuration is NACKed: attempts 0 → no retry_policy;
 *     gRPC makes at most 5 attempts in all (noted above 4 retries)
 *   - per-try timeouts are ignored (noted)
 *   - retry_back_off: a base under 1ms is NACKed (gRPC counts whole milliseconds); and intervals
 *     that grpc-js-xds 1.14 misreads (a second or more: misreadsBackOff in
 *     ../client-quirks/grpc-js-xds-1.14.ts) are left out (noted): without base_interval gRPC backs
 *     off from 25ms up to 250ms, without max_interval up to 10 × base_interval
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { RetryPolicy } from '../../envoy/generated/envoy/config/route/v3/RetryPolicy.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import { RETRY_ON, type PolicySettings } from '../../policy/schema.js';
import { backOffMisreadNote, misreadsBackOff } from '../client-quirks/grpc-js-xds-1.14.js';
import { isPositive } from './duration.js';
import { notImplementedByGrpc, policyNote, portRef } from './notes.js';
import { perTrySetting, perTryTimeout, policyDuration } from './route-timeouts.js';
import type { PortContext } from './types.js';

type Retries = NonNullable<PolicySettings['retries']>;
type Backoff = NonNullable<Retries['backoff']>;
type RetryOn = (typeof RETRY_ON)[number];
type BackOff = NonNullable<RetryPolicy['retry_back_off']>;

/** What retries.retryOn means when unset. */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled';

/** The retry conditions gRPC implements: status names. */
export const GRPC_RETRY_ON: ReadonlySet<string> = new Set<RetryOn>(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

/** gRPC's limit on attempts, the first included. */
export const GRPC_MAX_ATTEMPTS = 5;

const NANOS_PER_MS = 1_000_000;

function durationMs(d: Duration): number {
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / NANOS_PER_MS;
}

function envoyBackOff(ctx: PortContext, b: Backoff, errors: Diagnostic[]): BackOff | undefined {
  const base = policyDuration(ctx, 'retries.backoff', b.base, errors);
  const max = b.max === undefined ? undefined : policyDuration(ctx, 'retries.backoff', b.max, errors);
  if (!base || !isPositive(base) || (max && !isPositive(max))) {
    errors.push(
      policyNote(ctx, 'retries.backoff', "Envoy needs back-off intervals longer than 0; left out: Envoy's default back-off (25ms, up to 250ms) applies"),
    );
    return undefined;
  }
  return { base_interval: base, ...(max ? { max_interval: max } : {}) };
}

function envoyRetryPolicy(ctx: PortContext, errors: Diagnostic[]): RetryPolicy | undefined {
  const r = ctx.port.policy?.settings.retries;
  const perTry = perTryTimeout(ctx, errors);
  if (!r) return perTry ? { num_retries: { value: 0 }, per_try_timeout: perTry } : undefined;
  const backOff = r.backoff ? envoyBackOff(ctx, r.backoff, errors) : undefined;
  return {
    retry_on: r.retryOn ? r.retryOn.join(',') : DEFAULT_RETRY_ON,
    num_retries: { value: r.attempts },
    ...(perTry ? { per_try_timeout: perTry } : {}),
    ...(backOff ? { retry_back_off: backOff } : {}),
    ...(r.retriableStatusCodes ? { retriable_status_codes: [...r.retriableStatusCodes] } : {}),
  };
}

function grpcBackOff(ctx: PortContext, b: Backoff, errors: Diagnostic[]): BackOff | undefined {
  const base = policyDuration(ctx, 'retries.backoff', b.base, errors);
  if (!base) return undefined;
  const underOneMs = durationMs(base) < 1;
  if (underOneMs || misreadsBackOff(base)) {
    const why = underOneMs ? `gRPC rejects a base back-off under 1ms (${b.base})` : backOffMisreadNote(b.base);
    errors.push(policyNote(ctx, 'retries.backoff', `${why}: left out for proxyless gRPC clients of ${portRef(ctx)}, which back off from 25ms up to 250ms`));
    return undefined;
  }
  const max = b.max === undefined ? undefined : policyDuration(ctx, 'retries.backoff', b.max, errors);
  if (b.max !== undefined && max && misreadsBackOff(max)) {
    const note = policyNote(
      ctx,
      'retries.backoff',
      `${backOffMisreadNote(b.max)}: left out for proxyless gRPC clients of ${portRef(ctx)}, which back off up to 10 × base`,
    );
    errors.push({ ...note, field: 'spec.retries.backoff.max' });
    return { base_interval: base };
  }
  return { base_interval: base, ...(max ? { max_interval: max } : {}) };
}

/** The gRPC status conditions of retries.retryOn; the others noted. */
function grpcRetryOn(ctx: PortContext, r: Retries, errors: Diagnostic[]): string[] {
  if (!r.retryOn) return DEFAULT_RETRY_ON.split(',').filter((c) => GRPC_RETRY_ON.has(c));
  const kept = r.retryOn.filter((c) => GRPC_RETRY_ON.has(c));
  const dropped = r.retryOn.filter((c) => !GRPC_RETRY_ON.has(c));
  if (dropped.length > 0) {
    const instead = kept.length > 0 ? `it retries on ${kept.join(', ')} only` : 'it retries on gRPC status codes only, so calls are not retried';
    errors.push(notImplementedByGrpc(ctx, 'retries.retryOn', `the retry conditions ${dropped.join(', ')}`, instead));
  }
  return kept;
}

function grpcPerTryNote(ctx: PortContext, errors: Diagnostic[]): void {
  const setting = perTrySetting(ctx);
  if (setting) errors.push(notImplementedByGrpc(ctx, setting.path, 'per-try timeouts', 'each try may take the whole request timeout'));
}

function grpcRetryPolicy(ctx: PortContext, errors: Diagnostic[]): RetryPolicy | undefined {
  grpcPerTryNote(ctx, errors);
  const r = ctx.port.policy?.settings.retries;
  if (!r || r.attempts === 0) return undefined;
  const retryOn = grpcRetryOn(ctx, r, errors);
  if (retryOn.length === 0) return undefined;
  if (r.attempts >= GRPC_MAX_ATTEMPTS) {
    errors.push(
      notImplementedByGrpc(
        ctx,
        'retries.attempts',
        `${r.attempts} retries`,
        `it makes at most ${GRPC_MAX_ATTEMPTS} attempts in all (${GRPC_MAX_ATTEMPTS - 1} retries)`,
      ),
    );
  }
  const backOff = r.backoff ? grpcBackOff(ctx, r.backoff, errors) : undefined;
  return { retry_on: retryOn.join(','), num_retries: { value: r.attempts }, ...(backOff ? { retry_back_off: backOff } : {}) };
}

/** The retry policy of every route of the port, if any. */
export function retryPolicy(ctx: PortContext, errors: Diagnostic[]): RetryPolicy | undefined {
  return ctx.target === 'proxyless' ? grpcRetryPolicy(ctx, errors) : envoyRetryPolicy(ctx, errors);
}
