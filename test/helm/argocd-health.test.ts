/**
 * The Argo CD health check of TrafficPolicy (helm/trellis/argocd/trafficpolicy-health.lua), run in a Lua VM (fengari)
 * against sample statuses and against the statuses Trellis writes: every policy of the translate golden cases, its
 * conditions as policyStatuses makes them with no proxy, proxies pending, all acked, and one rejecting. The README's
 * copy of the script is the file's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyStatuses, type PolicyCondition, type PolicyProgress } from '../../src/model/policy-status.ts';
import type { ModelPolicy } from '../../src/model/types.ts';
import { health, HEALTH_LUA } from './argocd-lua.ts';
import { REPO } from './support.ts';

const cond = (type: string, status: string, reason: string, message = `${type} ${reason}`) => ({ type, status, reason, message });
const policy = (conditions: unknown[] | undefined, extra: { generation?: number; observedGeneration?: number } = {}) => ({
  apiVersion: 'trellis.dev/v1alpha1',
  kind: 'TrafficPolicy',
  metadata: { name: 'web', namespace: 'shop', generation: extra.generation ?? 1 },
  ...(conditions ? { status: { observedGeneration: extra.observedGeneration ?? 1, conditions } } : {}),
});
const ACCEPTED = cond('Accepted', 'True', 'Accepted', 'attached to Service shop/web:80');
const RESOLVED = cond('ResolvedRefs', 'True', 'ResolvedRefs', 'every reference resolved');

describe('the TrafficPolicy health check, on sample statuses', () => {
  it.each([
    ['no status yet', policy(undefined), 'Progressing', "Waiting for Trellis to report the policy's status"],
    ['a status of an older generation', policy([ACCEPTED, cond('Programmed', 'True', 'Programmed')], { generation: 3, observedGeneration: 2 }), 'Progressing', 'generation 3'],
    ['accepted and programmed', policy([ACCEPTED, RESOLVED, cond('Programmed', 'True', 'Programmed', 'acked by 12/12 proxies')]), 'Healthy', 'acked by 12/12 proxies'],
    ['accepted, programming pending', policy([ACCEPTED, RESOLVED, cond('Programmed', 'False', 'Pending', 'acked by 9/12 proxies')]), 'Progressing', 'Pending'],
    ['accepted, not yet programmed at all', policy([ACCEPTED, RESOLVED]), 'Progressing', 'Waiting for Trellis'],
    ['invalid', policy([cond('Accepted', 'False', 'Invalid', 'spec.routing: bad'), cond('Programmed', 'False', 'Invalid')]), 'Degraded', 'Accepted=False (Invalid): spec.routing: bad'],
    ['its target missing', policy([cond('Accepted', 'False', 'TargetNotFound')]), 'Degraded', 'TargetNotFound'],
    ['a backend that does not resolve', policy([ACCEPTED, cond('ResolvedRefs', 'False', 'BackendNotFound', 'Service shop/catalog has no port 5051'), cond('Programmed', 'True', 'Programmed')]), 'Degraded', 'ResolvedRefs=False (BackendNotFound): Service shop/catalog has no port 5051'],
    ['partly unusable', policy([ACCEPTED, RESOLVED, cond('PartiallyInvalid', 'True', 'UnsupportedValue'), cond('Programmed', 'True', 'Programmed')]), 'Degraded', 'UnsupportedValue'],
    ['conflicted', policy([ACCEPTED, RESOLVED, cond('Conflicted', 'True', 'Conflicted'), cond('Programmed', 'True', 'Programmed')]), 'Degraded', 'Conflicted=True'],
    ['rejected by a proxy', policy([ACCEPTED, RESOLVED, cond('Programmed', 'False', 'Rejected', 'rejected by 1/12 proxies: web-1.shop: bad')]), 'Degraded', 'rejected by 1/12 proxies: web-1.shop: bad'],
    ['asking for certificates Trellis lacks', policy([ACCEPTED, RESOLVED, cond('Programmed', 'False', 'NoWorkloadCertificates')]), 'Degraded', 'NoWorkloadCertificates'],
  ])('%s: %s', (_what, obj, status, message) => {
    const h = health(obj);
    expect(h.status).toBe(status);
    expect(h.message).toContain(message);
  });

  it('a Lua error is reported (the runner can fail)', () => {
    expect(() => health(policy([]), 'return obj.status.nothing.here')).toThrow(/the health check failed: .*nothing/);
  });
});

/** Every policy of the translate golden cases, with its conditions as the model built them. */
function goldenPolicies(): ModelPolicy[] {
  const root = join(REPO, 'test/translate/golden');
  return readdirSync(root).flatMap((c) => {
    try {
      return ((parse(readFileSync(join(root, c, 'model.yaml'), 'utf8')) as { policies?: ModelPolicy[] }).policies ?? []).map((p) => ({ ...p }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  });
}

/** The health the conditions call for, as the README states it. */
function expected(conditions: readonly PolicyCondition[]): string {
  const c = new Map(conditions.map((x) => [x.type, x]));
  const bad =
    c.get('Accepted')?.status === 'False' ||
    c.get('ResolvedRefs')?.status === 'False' ||
    c.get('PartiallyInvalid')?.status === 'True' ||
    c.get('Conflicted')?.status === 'True' ||
    (c.get('Programmed')?.status === 'False' && c.get('Programmed')?.reason !== 'Pending');
  if (bad) return 'Degraded';
  return c.get('Programmed')?.status === 'True' ? 'Healthy' : 'Progressing';
}

describe('the TrafficPolicy health check, on the statuses Trellis writes', () => {
  const policies = goldenPolicies();
  const scenarios: Record<string, PolicyProgress | undefined> = {
    'no proxy': undefined,
    pending: { proxies: 3, acked: 1, rejected: [] },
    acked: { proxies: 3, acked: 3, rejected: [] },
    rejected: { proxies: 3, acked: 1, rejected: [{ proxyId: 'web-1.shop', message: 'route r1: bad' }] },
  };

  it.each(Object.entries(scenarios))('%s', (_name, progress) => {
    const statuses = policyStatuses(policies, new Map(progress ? policies.map((p) => [`TrafficPolicy ${p.namespace}/${p.name}`, progress]) : []));
    expect(statuses.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const s of statuses) {
      const h = health({ apiVersion: 'trellis.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name: s.name, namespace: s.namespace, generation: 1 }, status: { observedGeneration: 1, conditions: s.conditions } });
      expect(h.status, `${s.policy}: ${JSON.stringify(s.conditions)}`).toBe(expected(s.conditions));
      seen.add(h.status);
    }
    // The golden cases hold broken policies, and good ones that take the scenario's health.
    expect(seen.has('Degraded')).toBe(true);
    const good = progress === undefined || progress.acked === progress.proxies ? 'Healthy' : progress.rejected.length > 0 ? 'Degraded' : 'Progressing';
    expect(seen.has(good)).toBe(true);
  });
});

describe('copies of the script', () => {
  it("the README's argocd-cm snippet holds the file as it is", () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const m = /resource\.customizations\.health\.trellis\.dev_TrafficPolicy: \|\n((?: {4}.*\n|\n)+)/.exec(readme);
    expect(m?.[1], 'no argocd-cm snippet in the README').toBeDefined();
    const block = (m?.[1] ?? '').replace(/\n+$/, '\n').replace(/^ {4}/gm, '');
    expect(block).toBe(HEALTH_LUA);
  });

  it("the values for Argo CD's chart (configs.cm) hold the file as it is", () => {
    const values = parse(readFileSync(join(REPO, 'helm/trellis/argocd/argo-cd-values.yaml'), 'utf8')) as { configs?: { cm?: Record<string, unknown> } };
    expect(values.configs?.cm?.['resource.customizations.health.trellis.dev_TrafficPolicy']).toBe(HEALTH_LUA);
  });
});
