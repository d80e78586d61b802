/**
 * Redaction of key material before a resource leaves the process through the debug endpoint.
 *
 * The fields are those Envoy's API marks `(udpa.annotations.sensitive) = true` in
 * envoy/extensions/transport_sockets/tls/v3 (common.proto, secret.proto). The walk visits the whole
 * JSON tree, so the fields are found wherever they sit: in SDS secrets, but also in TLS contexts
 * inlined in clusters' and listeners' transport sockets, inside `Any`s, and in shapes added later.
 */

/** What a sensitive value is replaced with: a DataSource, the type these fields almost always have. */
export const REDACTED: Readonly<{ inline_string: string }> = Object.freeze({ inline_string: '[redacted]' });

/** Sensitive wherever they appear (TlsCertificate.private_key, .pkcs12, PrivateKeyProvider... .password). */
const ALWAYS = new Set(['private_key', 'pkcs12', 'password']);

/**
 * Sensitive only under a given parent, because the bare name is common elsewhere (a cluster's
 * `lb_subset_config.subset_selectors[].keys` must survive): parent field → sensitive children.
 */
const UNDER: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['generic_secret', new Set(['secret', 'secrets'])],
  ['session_ticket_keys', new Set(['keys'])],
  ['private_key_provider', new Set(['typed_config'])],
]);

function isSensitive(key: string, parent: string | undefined): boolean {
  return ALWAYS.has(key) || (parent !== undefined && (UNDER.get(parent)?.has(key) ?? false));
}

function redactedValue(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  return Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
}

/**
 * A copy of `value` with every sensitive field replaced by {@link REDACTED} (each element, for a
 * repeated field). `parent` is the field holding `value`; array elements inherit their array's field.
 */
export function redactSensitive(value: unknown, parent?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => redactSensitive(item, parent));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = isSensitive(key, parent) ? redactedValue(child) : redactSensitive(child, key);
  }
  return out;
}
