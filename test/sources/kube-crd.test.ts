/**
 * A cluster without the TrafficPolicy CRD: a warning, not a failure, and not a reason to stay
 * unready. Its own API server, since the other tests install the CRD in the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRD_MISSING } from '../../src/sources/kube/index.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import { admin, names, service, startSource, TRAFFIC_POLICY_CRD, trellisKubeConfig } from './kube-support.ts';

describe('kube source without the TrafficPolicy CRD', () => {
  let env: Envtest;
  beforeAll(async () => {
    env = await startEnvtest();
  });
  afterAll(async () => {
    await env.stop();
  });

  it('is ready with a warning, and reads TrafficPolicies once the CRD is installed', async () => {
    const ns = await env.namespace('nocrd');
    await admin(env).core.createNamespacedService({ namespace: ns, body: service('web') });
    const { source, changes, logs } = await startSource(await trellisKubeConfig(env, ns), { namespaces: [ns] });
    try {
      const state = source.current();
      expect(names(state, 'services')).toEqual([`${ns}/web`]);
      expect(state.connected).toBe(true);
      expect(state.problems).toEqual([
        { severity: 'warning', object: { kind: 'CustomResourceDefinition', name: 'trafficpolicies.trellis.dev' }, message: CRD_MISSING },
      ]);
      expect(logs.count(40, new RegExp(CRD_MISSING))).toBe(1);

      await env.installCrds([TRAFFIC_POLICY_CRD]);
      const installed = await changes.until('the CRD found', (s) => s.problems.length === 0);
      expect(installed.connected).toBe(true);
      await admin(env).custom.createNamespacedCustomObject({
        group: 'trellis.dev',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'trafficpolicies',
        body: { apiVersion: 'trellis.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'p' }, spec: {} },
      });
      await changes.until('the policy read', (s) => s.inputs.trafficPolicies.length === 1);
      expect(logs.count(40, new RegExp(CRD_MISSING))).toBe(1);
    } finally {
      source.close();
    }
  });
});
