/**
 * Policy percentages (0–100, fractions allowed: 0.5, 12.25) as Envoy's FractionalPercent, which
 * both Envoy and proxyless gRPC read as numerator / denominator. The smallest denominator that holds
 * the value exactly is used (HUNDRED for whole percents, TEN_THOUSAND for two decimals); anything
 * finer is rounded to the nearest millionth (MILLION, four decimals of a percent), the finest
 * Envoy offers.
 */
import type { FractionalPercent } from '../../envoy/generated/envoy/type/v3/FractionalPercent.js';

/** How close to a whole number a scaled float must be to count as one (0.07 × 100 = 7.000000000000001). */
const EPSILON = 1e-6;

function whole(x: number): number | undefined {
  const rounded = Math.round(x);
  return Math.abs(x - rounded) < EPSILON ? rounded : undefined;
}

export function fractionalPercent(percent: number): FractionalPercent {
  const hundred = whole(percent);
  if (hundred !== undefined) return { numerator: hundred, denominator: 'HUNDRED' };
  const tenThousand = whole(percent * 100);
  if (tenThousand !== undefined) return { numerator: tenThousand, denominator: 'TEN_THOUSAND' };
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

/** Every request. */
export const ALL_REQUESTS: FractionalPercent = { numerator: 100, denominator: 'HUNDRED' };
