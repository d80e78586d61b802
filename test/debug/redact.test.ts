import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { redactSensitive } from '../../src/debug/redact.js';
import { envoyRoot } from '../../src/envoy/protos.js';

const SECRET = { inline_string: 'TOP SECRET' };
const R = { inline_string: '[redacted]' };

describe('redactSensitive', () => {
  it.each([
    ['a TLS private key', { tls_certificate: { private_key: SECRET } }, { tls_certificate: { private_key: R } }],
    ['a PKCS#12 bundle', { tls_certificate: { pkcs12: SECRET } }, { tls_certificate: { pkcs12: R } }],
    ['a key password', { tls_certificate: { password: SECRET } }, { tls_certificate: { password: R } }],
    ['a generic secret', { generic_secret: { secret: SECRET } }, { generic_secret: { secret: R } }],
    ['generic secrets by name', { generic_secret: { secrets: { a: SECRET, b: SECRET } } }, { generic_secret: { secrets: R } }],
    ['each session ticket key', { session_ticket_keys: { keys: [SECRET, SECRET] } }, { session_ticket_keys: { keys: [R, R] } }],
    [
      'a private key provider config',
      { private_key_provider: { provider_name: 'cryptomb', typed_config: { '@type': 'x', private_key: SECRET } } },
      { private_key_provider: { provider_name: 'cryptomb', typed_config: R } },
    ],
    [
      'keys in repeated and nested messages',
      { a: [{ b: { tls_certificates: [{ private_key: SECRET }, { private_key: { filename: '/k.pem' } }] } }] },
      { a: [{ b: { tls_certificates: [{ private_key: R }, { private_key: R }] } }] },
    ],
  ])('redacts %s', (_name, input, expected) => {
    expect(redactSensitive(input)).toEqual(expected);
    expect(JSON.stringify(redactSensitive(input))).not.toContain('TOP SECRET');
  });

  it.each([
    ['certificate chains', { tls_certificate: { certificate_chain: { inline_string: 'CERT' } } }],
    ['subset selector keys', { lb_subset_config: { subset_selectors: [{ keys: ['version', 'zone'] }] } }],
    ['a typed_config outside a private key provider', { transport_socket: { typed_config: { '@type': 'x', sni: 'a' } } }],
    ['a field named secret outside a generic secret', { sds_config: { secret: 'name-of-it' } }],
    ['scalars and nulls', { a: 1, b: 'two', c: null, d: [true, false] }],
  ])('keeps %s', (_name, input) => {
    expect(redactSensitive(input)).toEqual(input);
  });

  it('does not change its input', () => {
    const input = { tls_certificate: { private_key: { inline_string: 'TOP SECRET' } } };
    redactSensitive(input);
    expect(input.tls_certificate.private_key.inline_string).toBe('TOP SECRET');
  });

  it.each([['text'], [42], [null], [undefined]])('passes %s through', (value) => {
    expect(redactSensitive(value)).toBe(value);
  });
});

describe("every field Envoy's protos mark sensitive", () => {
  /** (message, field) pairs with `(udpa.annotations.sensitive) = true`, in the protos Trellis loads. */
  function sensitiveFields(): { type: protobuf.Type; field: string }[] {
    const out: { type: protobuf.Type; field: string }[] = [];
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Type) {
          for (const f of o.fieldsArray) if (f.options?.['(udpa.annotations.sensitive)'] === true) out.push({ type: o, field: f.name });
        }
        if (o instanceof protobuf.Namespace) walk(o);
      }
    };
    walk(envoyRoot());
    return out;
  }

  /** The names of the fields that hold a message of `type`, anywhere in the protos. */
  function holders(type: protobuf.Type): string[] {
    const out = new Set<string>();
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Type) for (const f of o.fieldsArray) if (f.resolve().resolvedType === type) out.add(f.name);
        if (o instanceof protobuf.Namespace) walk(o);
      }
    };
    walk(envoyRoot());
    return [...out];
  }

  it('includes the TLS private key, and is redacted wherever a message holding it sits', () => {
    const fields = sensitiveFields();
    expect(fields.map((f) => `${f.type.name}.${f.field}`)).toContain('TlsCertificate.private_key');
    for (const { type, field } of fields) {
      for (const parent of holders(type)) {
        const dumped = JSON.stringify(redactSensitive({ [parent]: { [field]: SECRET } }));
        expect(dumped, `${type.fullName}.${field} under ${parent}`).not.toContain('TOP SECRET');
      }
    }
  });
});
