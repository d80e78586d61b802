import { describe, expect, it } from 'vitest';
import { knownFields, validateSpec } from '../../src/policy/validate.ts';

const targetRefs = [{ group: '', kind: 'Service', name: 'catalog' }];
const errorsOf = (spec: Record<string, unknown>) => {
  const r = validateSpec({ targetRefs, ...spec });
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
};

describe('validateSpec: messages people read', () => {
  it.each([
    ['a misspelt section', { retires: { attempts: 3 } }, 'spec.retires: unknown field (did you mean retries?)'],
    ['a misspelt field', { retries: { attempts: 3, retryon: ['5xx'] } }, 'spec.retries.retryon: unknown field (did you mean retryOn?)'],
    [
      'a field in the wrong case',
      { connectionPool: { maxconnections: 3 } },
      'spec.connectionPool.maxconnections: unknown field (did you mean maxConnections?)',
    ],
    [
      'a misspelt field in a list item',
      { routing: { http: [{ name: 'a', backend: [{ service: 'catalog' }] }] } },
      'spec.routing.http[0].backend: unknown field (did you mean backends?)',
    ],
    ['a field close to nothing', { security: { mtls: 'STRICT' } }, 'spec.security: unknown field'],
  ])('suggests the nearest known field: %s', (_what, spec, message) => {
    expect(errorsOf(spec)).toEqual([message]);
  });

  it.each([
    ['10', 'spec.timeouts.request: expected a duration such as 250ms, 5s or 1m30s, found "10"'],
    ['1 s', 'spec.timeouts.request: expected a duration such as 250ms, 5s or 1m30s, found "1 s"'],
  ])('says what a duration looks like, not its regular expression: %j', (request, message) => {
    const errors = errorsOf({ timeouts: { request } });
    expect(errors).toEqual([message]);
    expect(errors.join()).not.toContain('[0-9]');
  });

  it('knows the fields at a path as the CRD declares them', () => {
    expect(knownFields(['spec', 'retries'])).toEqual(expect.arrayContaining(['attempts', 'retryOn', 'backoff']));
    expect(knownFields(['spec', 'routing', 'http', 0])).toEqual(expect.arrayContaining(['name', 'matches', 'backends']));
    expect(knownFields(['spec', 'nowhere'])).toEqual([]);
  });
});
