/**
 * What a TrafficPolicy can say that its schema admits but the proxies cannot use: a failover place
 * that is neither a region nor region/zone, a token bucket Envoy refuses. Pure functions of the
 * settings, checked in the model (model/policy-checks.ts, so the status says it) and obeyed by
 * translation (which leaves such a part out).
 */
import type { PolicySettings } from './schema.js';
import { durationNanos } from './schema-kit.js';

/** The largest Duration protobuf allows (10 000 years); Envoy rejects anything longer. */
export const MAX_DURATION_SECONDS = 315_576_000_000n;

/** Envoy's lower bound on a token bucket's fill interval (local_ratelimit_impl.cc). */
export const MIN_FILL_INTERVAL_NANOS = 50_000_000n;

/** A failover place: a region, or a zone of a region. */
export interface Place {
  readonly region: string;
  readonly zone?: string;
}

/** `region` or `region/zone`; undefined for anything else. */
export function parsePlace(text: string): Place | undefined {
  const parts = text.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) return undefined;
  const [region = '', zone] = parts;
  return zone === undefined ? { region } : { region, zone };
}

/**
 * Two regions agree when they are equal, or when either is unknown (an endpoint whose Node is not
 * known; a proxy that does not say its region). Both known and different: never, whatever the zones
 * are called.
 */
export function regionsAgree(a: string, b: string): boolean {
  return a === b || a === '' || b === '';
}

/** A locality (an endpoint's, a proxy's; '' for a part not known) is in `place`. */
export function inPlace(l: { readonly region: string; readonly zone: string }, place: Place): boolean {
  if (place.zone === undefined) return l.region === place.region;
  return l.zone === place.zone && regionsAgree(l.region, place.region);
}

/** A path prefix Envoy cannot match on (its path_separated_prefix holds no query or fragment). */
export function prefixUnmatchable(prefix: string): boolean {
  return /[?#]/.test(prefix);
}

/** A header a route may set, add or remove: Envoy refuses pseudo-headers (`:path`) and `host`. */
export function modifiableHeader(name: string): boolean {
  return !name.startsWith(':') && name.toLowerCase() !== 'host';
}

export type TokenBucketSpec = NonNullable<PolicySettings['rateLimit']>['local'];

/** A bucket a policy asks for: the field it sits at, and the key of `origins` naming the policy. */
export interface BucketAsk {
  /** `spec.rateLimit` or `spec.routing.http[2].rateLimit` */
  readonly field: string;
  /** `rateLimit.local` or `routing.http` */
  readonly originKey: string;
  readonly bucket: TokenBucketSpec;
}

export function bucketAsks(settings: PolicySettings | undefined): BucketAsk[] {
  const asks: BucketAsk[] = [];
  if (settings?.rateLimit) asks.push({ field: 'spec.rateLimit', originKey: 'rateLimit.local', bucket: settings.rateLimit.local });
  settings?.routing?.http.forEach((rule, i) => {
    if (rule.rateLimit) asks.push({ field: `spec.routing.http[${i}].rateLimit`, originKey: 'routing.http', bucket: rule.rateLimit.local });
  });
  return asks;
}

/** Why Envoy would refuse the bucket; undefined when it accepts it. */
export function bucketProblem(bucket: TokenBucketSpec): string | undefined {
  const nanos = durationNanos(bucket.fillInterval);
  if (nanos === undefined || nanos / 1_000_000_000n > MAX_DURATION_SECONDS) return `fillInterval ${bucket.fillInterval} is not a duration Envoy accepts`;
  if (nanos < MIN_FILL_INTERVAL_NANOS) return `fillInterval ${bucket.fillInterval} is shorter than the 50ms Envoy accepts`;
  return undefined;
}
