/**
 * Checks a TrafficPolicy's spec against the schema, and says what is wrong in the words the API
 * server would use: one error per problem, each with the field path from the object's root
 * (`spec.retries.attempts`; an unknown field is named itself, with the nearest known one when a
 * typo is likely: `spec.retires: unknown field (did you mean retries?)`).
 */
import { formatPath, type Diagnostic } from '../diagnostics.js';
import { didYouMean } from '../suggest.js';
import { trafficPolicyOpenApiSchema } from './crd.js';
import { validatedSpecSchema, type TrafficPolicySpec } from './schema.js';

/** Errors carry the field path from the object's root; the caller knows the object. */
export type SpecResult = { readonly ok: true; readonly spec: TrafficPolicySpec } | { readonly ok: false; readonly errors: readonly Diagnostic[] };

interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly additionalProperties?: SchemaNode | boolean;
}

let openApi: SchemaNode | undefined;

/** The field names the schema knows at `path` (from the object's root), as the CRD declares them. */
export function knownFields(path: readonly PropertyKey[]): string[] {
  openApi ??= trafficPolicyOpenApiSchema() as SchemaNode;
  let node: SchemaNode | undefined = openApi;
  for (const segment of path) {
    if (node === undefined) break;
    if (typeof segment === 'number') node = node.items;
    else {
      const extra: SchemaNode | boolean | undefined = node.additionalProperties;
      node = node.properties?.[String(segment)] ?? (typeof extra === 'object' ? extra : undefined);
    }
  }
  return Object.keys(node?.properties ?? {});
}

function unknownField(at: readonly PropertyKey[], key: string): Diagnostic {
  const meant = didYouMean(key, knownFields(at));
  return { severity: 'error', field: formatPath([...at, key]), message: meant === undefined ? 'unknown field' : `unknown field (did you mean ${meant}?)` };
}

export function validateSpec(spec: unknown): SpecResult {
  if (spec === undefined || spec === null) return { ok: false, errors: [{ severity: 'error', field: 'spec', message: 'required' }] };
  const result = validatedSpecSchema.safeParse(spec);
  if (result.success) return { ok: true, spec: result.data };
  const errors = result.error.issues.flatMap((issue): Diagnostic[] => {
    const at = ['spec', ...issue.path];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownField(at, key));
    return [{ severity: 'error', field: formatPath(at), message: issue.message }];
  });
  return { ok: false, errors };
}
