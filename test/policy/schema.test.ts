import { describe, expect, it } from 'vitest';
import { crossFieldRules, durationMs, trafficPolicySchema } from '../../src/policy/schema.ts';
import { examples, fieldPath, invalid } from './cases.ts';

describe('TrafficPolicy schema', () => {
  it('has examples of every section', () => {
    const sections = new Set(examples.flatMap(([, d]) => Object.keys(d.spec)));
    const all = Object.keys(trafficPolicySchema.shape.spec.shape);
    expect([...sections].sort()).toEqual([...all].sort());
  });

  it.each(examples)('accepts the example %s', (_file, doc) => {
    const r = trafficPolicySchema.safeParse(doc);
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });

  it.each(invalid)('refuses %s at its field path', (_what, doc, path) => {
    const r = trafficPolicySchema.safeParse(doc);
    expect(r.success).toBe(false);
    const paths = r.success
      ? []
      : r.error.issues.map((i) => fieldPath(i.path.length ? i.path : []) + (i.code === 'unrecognized_keys' ? `.${i.keys.join(',')}` : ''));
    expect(paths).toEqual([path]);
  });

  it('has a case for every cross-field rule', () => {
    const messages = new Set(
      invalid.flatMap(([, doc]) => {
        const r = trafficPolicySchema.safeParse(doc);
        return r.success ? [] : r.error.issues.filter((i) => i.code === 'custom').map((i) => i.message);
      }),
    );
    for (const rule of crossFieldRules) expect(messages, rule.message).toContain(rule.message);
  });

  it.each([
    ['250ms', 250],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['10', Number.NaN],
    ['-1s', Number.NaN],
  ])('reads the duration %s as %d ms', (d, ms) => {
    expect(durationMs(d)).toBe(ms);
  });
});
