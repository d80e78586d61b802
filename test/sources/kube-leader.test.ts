/**
 * Leader election for the status writer, against a real API server: two replicas, one lease.
 */
import { once } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KUBE_RBAC_RULES } from '../../src/sources/kube/index.ts';
import { LeaderElector } from '../../src/sources/kube/leader.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';

let env: Envtest;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  env = await sharedEnvtest();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

async function replica(namespace: string, identity: string, leaseDurationSeconds: number): Promise<LeaderElector> {
  const kc = new KubeConfig();
  kc.loadFromString(
    await env.serviceAccountKubeconfig({
      namespace,
      name: `trellis-${identity}`,
      rules: KUBE_RBAC_RULES.clusterWide,
      namespacedRules: KUBE_RBAC_RULES.leaseNamespace,
    }),
  );
  const e = new LeaderElector({
    kubeConfig: kc,
    namespace,
    name: 'trellis-status-writer',
    identity,
    leaseDurationSeconds,
    retryPeriodMs: 200,
    logger: pino({ level: 'silent' }),
  });
  electors.push(e);
  return e;
}

/** Two replicas on one lease (2 s unless said) in a fresh namespace: a leads, b has started and is trying. */
async function aLeadingBWaiting(leaseSeconds = 2): Promise<{ a: LeaderElector; b: LeaderElector; bLeads: Promise<unknown[]> }> {
  const ns = await env.namespace('lease');
  const a = await replica(ns, 'a', leaseSeconds);
  const b = await replica(ns, 'b', leaseSeconds);
  const aLeads = once(a, 'leading');
  a.start();
  await aLeads;
  const bLeads = once(b, 'leading');
  b.start();
  return { a, b, bLeads };
}

describe('leader election on a Lease', () => {
  it('makes exactly one of two replicas the leader, and the other takes over when it steps down', async () => {
    // b keeps trying every 200 ms; a renews: b must not lead while a holds the lease.
    // A 10 s lease: a takeover within it comes from the release (an expired lease takes the whole duration),
    // with room for a loaded CI machine.
    const { a, b, bLeads } = await aLeadingBWaiting(10);
    const stepDown = performance.now();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.stop();
    await bLeads;
    expect([a.isLeader, b.isLeader]).toEqual([false, true]);
    // A released lease is taken at the next try, well within the lease duration.
    expect(performance.now() - stepDown).toBeLessThan(10_000);
  });

  it('takes over from a replica that died without releasing, once the lease has expired', async () => {
    const { a, bLeads } = await aLeadingBWaiting();
    const died = performance.now();
    await a.stop(false);
    await bLeads;
    const waited = performance.now() - died;
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(2000 + 2 * 200 + 1000);
  });
});
