/**
 * Checks a TrafficPolicy's spec against the schema, and says what is wrong in the words the API
 * server would use: one error per problem, each with the field path from the object's root
 * (`spec.retries.attempts`; an unknown field is named itself: `spec.retries.attemps`).
 */
import { formatPath, type Diagnostic } from '../diagnostics.js';
import { validatedSpecSchema, type TrafficPolicySpec } from './schema.js';

/** Errors carry the field path from the object's root; the caller knows the object. */
export type SpecResult = { readonly ok: true; readonly spec: TrafficPolicySpec } | { readonly ok: false; readonly errors: readonly Diagnostic[] };

export function validateSpec(spec: unknown): SpecResult {
  if (spec === undefined || spec === null) return { ok: false, errors: [{ severity: 'error', field: 'spec', message: 'required' }] };
  const result = validatedSpecSchema.safeParse(spec);
  if (result.success) return { ok: true, spec: result.data };
  const errors = result.error.issues.flatMap((issue): Diagnostic[] => {
    const at = ['spec', ...issue.path];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ severity: 'error' as const, field: formatPath([...at, key]), message: 'unknown field' }));
    return [{ severity: 'error', field: formatPath(at), message: issue.message }];
  });
  return { ok: false, errors };
}
