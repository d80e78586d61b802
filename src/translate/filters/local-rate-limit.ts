/**
 * Local rate limiting (a TrafficPolicy's `rateLimit.local`, and `routing.http[i].rateLimit.local`):
 * Envoy's local_ratelimit HTTP filter, a token bucket in each client proxy. Requests over the
 * limit are answered 429 by the proxy itself.
 *
 * As in Envoy's and Istio's per-route pattern, the connection manager of an outbound port carries
 * the filter without a bucket (`filter_enabled` unset is 0%: it limits nothing) as soon as one
 * service it routes to asks for a limit; the bucket, enabled and enforced for 100% of requests, sits
 * on the service's virtual host (one bucket for the whole service) and on each policy route that
 * has its own (which replaces the service's for that route: the most specific config wins).
 *
 * Envoy refuses a fill interval under 50ms; such a bucket is left out and reported. gRPC does not
 * implement the filter (no gRFC covers it), and a route configuration carrying settings of a filter
 * it does not know is rejected whole: proxyless clients get nothing, and a note.
 */
import type { Diagnostic } from '../../diagnostics.js';
import { typed } from '../../envoy/codec.js';
import type { RuntimeFractionalPercent } from '../../envoy/generated/envoy/config/core/v3/RuntimeFractionalPercent.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { Any } from '../../envoy/generated/google/protobuf/Any.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { FILTER_NAME, MESSAGE } from '../common.js';
import { protoDuration } from '../policy/duration.js';
import { bucketAsks, bucketProblem, type TokenBucketSpec } from '../../policy/limits.js';
import { portRef } from '../policy/notes.js';
import type { PortContext } from '../policy/types.js';
import { ALL_REQUESTS } from './percent.js';
import { targetOf, type HttpFilterContext, type HttpFilterFeature } from './types.js';
import { translationWarning } from '../translation.js';

/** Stats under `http_local_rate_limiter.http_local_rate_limit.*`, as Istio names them. */
export const LOCAL_RATE_LIMIT_STAT_PREFIX = 'http_local_rate_limiter';

/** envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, the fields Trellis sets. */
export interface LocalRateLimit {
  readonly stat_prefix: string;
  readonly status?: { readonly code: 'TooManyRequests' };
  readonly token_bucket?: { readonly max_tokens: number; readonly tokens_per_fill: { readonly value: number }; readonly fill_interval: Duration };
  readonly filter_enabled?: RuntimeFractionalPercent;
  readonly filter_enforced?: RuntimeFractionalPercent;
}

const DISABLED_FILTER: HttpFilter = {
  name: FILTER_NAME.localRateLimit,
  typed_config: typed<LocalRateLimit>(MESSAGE.localRateLimit, { stat_prefix: LOCAL_RATE_LIMIT_STAT_PREFIX }),
};

/** The filter settings enforcing one bucket; undefined when Envoy would refuse it. */
export function localRateLimitConfig(bucket: TokenBucketSpec): LocalRateLimit | undefined {
  const fill = protoDuration(bucket.fillInterval);
  if (!fill || bucketProblem(bucket)) return undefined;
  return {
    stat_prefix: LOCAL_RATE_LIMIT_STAT_PREFIX,
    status: { code: 'TooManyRequests' },
    token_bucket: { max_tokens: bucket.maxTokens, tokens_per_fill: { value: bucket.tokensPerFill }, fill_interval: fill },
    filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: ALL_REQUESTS },
    filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: ALL_REQUESTS },
  };
}

function packed(bucket: TokenBucketSpec | undefined): Any | undefined {
  const config = bucket ? localRateLimitConfig(bucket) : undefined;
  return config ? typed<LocalRateLimit>(MESSAGE.localRateLimit, config) : undefined;
}

function filter(context: HttpFilterContext): HttpFilter | undefined {
  if (context.direction !== 'outbound' || targetOf(context) !== 'sidecar') return undefined;
  const limited = (context.services ?? []).some((s) => bucketAsks(s.port.policy?.settings).some((a) => localRateLimitConfig(a.bucket) !== undefined));
  return limited ? DISABLED_FILTER : undefined;
}

/**
 * proxyless gRPC's lack of local rate limiting is noted here, once per virtual host (the route hook
 * has no error list); a bucket Envoy would refuse is left out (the model reported it).
 */
function virtualHostConfig(ctx: PortContext, errors: Diagnostic[]): Any | undefined {
  if (ctx.target === 'proxyless') {
    for (const ask of bucketAsks(ctx.port.policy?.settings)) {
      const object = ctx.port.policy?.origins[ask.originKey] ?? ctx.service.source;
      errors.push(
        translationWarning(
          object,
          ask.field,
          `local rate limiting is not implemented by proxyless gRPC (clients of ${portRef(ctx)}): their requests are not limited`,
        ),
      );
    }
  }
  return ctx.target === 'sidecar' ? packed(ctx.port.policy?.settings.rateLimit?.local) : undefined;
}

function routeConfig(ctx: PortContext, rule: HttpRouteRule): Any | undefined {
  return ctx.target === 'sidecar' ? packed(rule.rateLimit?.local) : undefined;
}

export const localRateLimit: HttpFilterFeature = {
  feature: 'local-rate-limit',
  filterName: FILTER_NAME.localRateLimit,
  filter,
  virtualHostConfig,
  routeConfig,
};
