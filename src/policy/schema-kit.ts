/**
 * The building blocks of the TrafficPolicy schema (schema.ts): cross-field rules declared once as a
 * zod check and a CEL rule, durations, and the small field types every section uses.
 */
import { z } from 'zod';

// ------------------------------------------------------------------------------------------
// cross-field rules

export interface CrossFieldRule<T> {
  /** The message, reported by zod and by the API server alike. */
  readonly message: string;
  /** The field the error is reported on, relative to the node the rule sits on (none: the node itself). */
  readonly field?: readonly string[];
  /** The CEL rule (`self` is the node). */
  readonly cel: string;
  /** The same rule in TypeScript. */
  readonly holds: (value: T) => boolean;
}

/** Every rule declared with withRules, for documentation and tests. */
export const crossFieldRules: { readonly message: string; readonly cel: string; readonly field?: readonly string[] }[] = [];

export function withRules<S extends z.ZodType>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  for (const r of rules) crossFieldRules.push({ message: r.message, cel: r.cel, ...(r.field ? { field: r.field } : {}) });
  return schema
    .superRefine((value, ctx) => {
      for (const r of rules) {
        if (!r.holds(value)) ctx.addIssue({ code: 'custom', message: r.message, path: [...(r.field ?? [])] });
      }
    })
    .meta({
      'x-kubernetes-validations': rules.map((r) => ({
        rule: r.cel,
        message: r.message,
        ...(r.field ? { fieldPath: `.${r.field.join('.')}` } : {}),
      })),
    });
}

/** A Go/Kubernetes CEL duration string: '1.5s', '250ms', '1m30s', '2h'. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const NANOS_PER_SECOND = 1_000_000_000n;
const UNIT_NANOS: Readonly<Record<string, bigint>> = { ms: 1_000_000n, s: NANOS_PER_SECOND, m: 60n * NANOS_PER_SECOND, h: 3_600n * NANOS_PER_SECOND };

/** Nanoseconds of one `<number><unit>` component, exactly (digits finer than a nanosecond are dropped). */
function componentNanos(number: string, unit: bigint): bigint {
  const [whole = '0', fraction = ''] = number.split('.');
  const scale = 10n ** BigInt(fraction.length);
  return BigInt(whole) * unit + (BigInt(fraction || '0') * unit) / scale;
}

/** Total nanoseconds of a duration, exactly; undefined when it does not match DURATION_PATTERN. */
export function durationNanos(text: string): bigint | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0n;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    const unit = UNIT_NANOS[m[2] ?? ''];
    if (m[1] === undefined || unit === undefined) return undefined;
    total += componentNanos(m[1], unit);
  }
  return total;
}

/** Milliseconds of a duration matching DURATION_PATTERN (NaN otherwise). */
export function durationMs(d: string): number {
  const nanos = durationNanos(d);
  return nanos === undefined ? Number.NaN : Number(nanos) / 1e6;
}

/** Both set → a ≤ b. */
export const notLonger = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || durationMs(a) <= durationMs(b);

// ------------------------------------------------------------------------------------------
// building blocks

const INT32_MAX = 2_147_483_647;
export const count = (min: number, description: string) => z.number().int().min(min).max(INT32_MAX).describe(description);
export const percent = (description: string) => z.number().min(0).max(100).describe(`${description} (0–100)`);
/** What a duration that does not match says, in words rather than the regular expression. */
export const DURATION_MESSAGE = 'expected a duration such as 250ms, 5s or 1m30s';
export const duration = (description: string) =>
  z
    .string()
    .max(32)
    .regex(DURATION_PATTERN, { error: (issue) => `${DURATION_MESSAGE}, found ${JSON.stringify(issue.input)}` })
    .describe(`${description}; a duration such as '250ms', '1.5s', '1m30s'`);
export const dnsName = (description: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/)
    .describe(description);
export const portNumber = (description: string) => z.number().int().min(1).max(65535).describe(description);
export const headerName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/)
  .describe('An HTTP header name');
export const labels = z.record(z.string().max(317), z.string().max(63));
