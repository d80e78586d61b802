/**
 * outlierDetection → the cluster's outlier_detection.
 *
 *   consecutive5xx            consecutive_5xx, enforced at 100%
 *   consecutiveGatewayErrors  consecutive_gateway_failure, enforced at 100% (Envoy's default is 0%)
 *   interval, baseEjectionTime, maxEjectionPercent   as they are
 *   failurePercentage         failure_percentage_*, enforced at 100% (off by default)
 *
 * A policy ejects on what it asks for, and on nothing else: success-rate ejection, which Envoy and
 * gRPC both run by default, is turned off (enforcing_success_rate 0), and so is Envoy's default
 * ejection after 5 consecutive 5xx when consecutive5xx is not set (or 0).
 *
 * Proxyless gRPC (gRFC A50) implements only success-rate and failure-percentage ejection: the
 * consecutive-error settings are left out with a note recommending failurePercentage.
 * Percentages are whole numbers in Envoy and gRPC: a fraction is rounded the way that ejects less.
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { OutlierDetection } from '../../envoy/generated/envoy/config/cluster/v3/OutlierDetection.js';
import type { PolicySettings } from '../../policy/schema.js';
import { fieldDuration } from './duration.js';
import { notImplementedByGrpc, policyNote } from './notes.js';
import type { PortContext } from './types.js';

type Outlier = NonNullable<PolicySettings['outlierDetection']>;

const OFF = { value: 0 } as const;
const ALWAYS = { value: 100 } as const;

/** A percentage as a whole number, rounded `up` or `down`, with a note when it was not one. */
function wholePercent(ctx: PortContext, path: string, value: number, round: 'up' | 'down', errors: Diagnostic[], within?: string): number {
  if (Number.isInteger(value)) return value;
  const whole = round === 'up' ? Math.ceil(value) : Math.floor(value);
  errors.push(policyNote(ctx, path, `Envoy and gRPC take whole percentages: ${value} is used as ${whole}`, within));
  return whole;
}

function consecutiveFields(od: Outlier, ctx: PortContext, errors: Diagnostic[]): OutlierDetection {
  if (ctx.target === 'proxyless') {
    for (const field of ['consecutive5xx', 'consecutiveGatewayErrors'] as const) {
      if (!od[field]) continue;
      const path = `outlierDetection.${field}`;
      errors.push(
        notImplementedByGrpc(
          ctx,
          path,
          `${path} (gRFC A50 has only success-rate and failure-percentage ejection)`,
          'it is left out; use outlierDetection.failurePercentage',
        ),
      );
    }
    return {};
  }
  return {
    ...(od.consecutive5xx ? { consecutive_5xx: { value: od.consecutive5xx }, enforcing_consecutive_5xx: ALWAYS } : { enforcing_consecutive_5xx: OFF }),
    ...(od.consecutiveGatewayErrors
      ? { consecutive_gateway_failure: { value: od.consecutiveGatewayErrors }, enforcing_consecutive_gateway_failure: ALWAYS }
      : {}),
  };
}

function sweepFields(od: Outlier, ctx: PortContext, errors: Diagnostic[]): OutlierDetection {
  const interval = od.interval === undefined ? undefined : fieldDuration(ctx, 'outlierDetection.interval', od.interval, errors, true);
  const base = od.baseEjectionTime === undefined ? undefined : fieldDuration(ctx, 'outlierDetection.baseEjectionTime', od.baseEjectionTime, errors, true);
  const max = od.maxEjectionPercent === undefined ? undefined : wholePercent(ctx, 'outlierDetection.maxEjectionPercent', od.maxEjectionPercent, 'down', errors);
  return {
    ...(interval ? { interval } : {}),
    ...(base ? { base_ejection_time: base } : {}),
    ...(max !== undefined ? { max_ejection_percent: { value: max } } : {}),
  };
}

function failurePercentageFields(od: Outlier, ctx: PortContext, errors: Diagnostic[]): OutlierDetection {
  const fp = od.failurePercentage;
  if (!fp) return {};
  const threshold = wholePercent(ctx, 'outlierDetection.failurePercentage', fp.threshold, 'up', errors, 'threshold');
  return {
    enforcing_failure_percentage: ALWAYS,
    failure_percentage_threshold: { value: threshold },
    ...(fp.minimumHosts !== undefined ? { failure_percentage_minimum_hosts: { value: fp.minimumHosts } } : {}),
    ...(fp.requestVolume !== undefined ? { failure_percentage_request_volume: { value: fp.requestVolume } } : {}),
  };
}

/** The cluster fields of outlierDetection (none when the policy has no such section). */
export function outlierDetectionFields(ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  const od = ctx.port.policy?.settings.outlierDetection;
  if (!od) return {};
  return {
    outlier_detection: {
      ...consecutiveFields(od, ctx, errors),
      ...sweepFields(od, ctx, errors),
      ...failurePercentageFields(od, ctx, errors),
      enforcing_success_rate: OFF,
    },
  };
}
