/**
 * Checks a TrafficPolicy's spec against the schema, and says what is wrong in the words the API
 * server would use: one error per problem, each with the field path from the object's root
 * (`spec.retries.attempts`; an unknown field is named itself: `spec.retries.attemps`).
 */
import { formatPath } from '../model/problems.js';
import type { FieldError } from '../model/types.js';
import { validatedSpecSchema, type TrafficPolicySpec } from './schema.js';

export type SpecResult = { readonly ok: true; readonly spec: TrafficPolicySpec } | { readonly ok: false; readonly errors: readonly FieldError[] };

export function validateSpec(spec: unknown): SpecResult {
  if (spec === undefined || spec === null) return { ok: false, errors: [{ field: 'spec', message: 'required' }] };
  const result = validatedSpecSchema.safeParse(spec);
  if (result.success) return { ok: true, spec: result.data };
  const errors = result.error.issues.flatMap((issue): FieldError[] => {
    const at = ['spec', ...issue.path];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: formatPath([...at, key]), message: 'unknown field' }));
    return [{ field: formatPath(at), message: issue.message }];
  });
  return { ok: false, errors };
}
