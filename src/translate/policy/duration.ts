/**
 * TrafficPolicy durations ('250ms', '1.5s', '1m30s', '2h': DURATION_PATTERN of src/policy/schema.ts)
 * as google.protobuf.Duration, the form every Envoy and gRPC timeout takes. Shared by every
 * policy translator.
 *
 * The arithmetic is exact (integer nanoseconds, digits past the nanosecond dropped): '1.1s' is
 * { seconds: 1, nanos: 100000000 }, never a float rounding of it. fieldDuration adds the note on
 * the policy when Envoy would reject the value (zero where it must be positive, or too long).
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import { MAX_DURATION_SECONDS } from '../../policy/limits.js';
import { durationNanos } from '../../policy/schema.js';
import { policyNote } from './notes.js';
import type { PortContext } from './types.js';

const NANOS_PER_SECOND = 1_000_000_000n;

export { MAX_DURATION_SECONDS };

export { durationNanos };

/**
 * The policy duration as a google.protobuf.Duration (`nanos` only when not zero); undefined when
 * it is not a duration or is longer than protobuf allows.
 */
export function protoDuration(text: string): Duration | undefined {
  const nanos = durationNanos(text);
  if (nanos === undefined) return undefined;
  const seconds = nanos / NANOS_PER_SECOND;
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  const rest = Number(nanos % NANOS_PER_SECOND);
  return rest === 0 ? { seconds: Number(seconds) } : { seconds: Number(seconds), nanos: rest };
}

/** True when the Duration is longer than zero (what Envoy's `gt: {}` duration rules ask). */
export function isPositive(d: Duration): boolean {
  return Number(d.seconds ?? 0) > 0 || (d.nanos ?? 0) > 0;
}

/**
 * The Duration of the policy field `path` (`outlierDetection.interval`) set to `text`; undefined,
 * with a note on the policy, when Envoy would reject it: too long for a Duration, or zero where
 * the Envoy field must be longer than zero (`positive`).
 */
export function fieldDuration(ctx: PortContext, path: string, text: string, errors: Diagnostic[], positive: boolean): Duration | undefined {
  const d = protoDuration(text);
  if (!d) {
    errors.push(policyNote(ctx, path, `${text} is longer than a protobuf Duration can hold; it is left out`));
    return undefined;
  }
  if (positive && !isPositive(d)) {
    errors.push(policyNote(ctx, path, `must be longer than 0 (Envoy rejects ${text}); it is left out`));
    return undefined;
  }
  return d;
}
