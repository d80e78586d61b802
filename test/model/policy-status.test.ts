/**
 * A TrafficPolicy's conditions: Accepted and Conflicted from the model, Programmed from the proxies'
 * ACKs and NACKs.
 */
import { describe, expect, it } from 'vitest';
import type { ModelPolicy } from '../../src/model/types.ts';
import { formatPolicyStatus, policyStatuses, programmed, type PolicyProgress } from '../../src/model/policy-status.ts';

const spec = { targetRefs: [{ group: '' as const, kind: 'Service' as const, name: 'web' }], retries: { attempts: 2 } };
const accepted = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'attached to Service shop/web:80' } as const;
const policy: ModelPolicy = {
  namespace: 'shop',
  name: 'web',
  source: { kind: 'TrafficPolicy', namespace: 'shop', name: 'web' },
  generation: 3,
  inForce: { generation: 3, spec },
  attachedTo: ['Service shop/web:80'],
  conditions: [accepted],
};
const invalid: ModelPolicy = {
  ...policy,
  generation: 4,
  conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.retries.attempts: too big' }],
};

const p = (proxies: number, acked: number, rejected: PolicyProgress['rejected'] = []): PolicyProgress => ({ proxies, acked, rejected });

describe('Programmed', () => {
  it.each([
    ['no connected proxy receives it', policy, undefined, ['True', 'Programmed', 'no connected proxy receives it yet']],
    ['every proxy acked', policy, p(12, 12), ['True', 'Programmed', 'acked by 12/12 proxies']],
    ['one proxy acked', policy, p(1, 1), ['True', 'Programmed', 'acked by 1/1 proxy']],
    ['some have not acked yet', policy, p(12, 9), ['False', 'Pending', 'acked by 9/12 proxies']],
    [
      'a proxy rejected it',
      policy,
      p(3, 2, [{ proxyId: 'web-1.shop', message: 'route: invalid regex' }]),
      ['False', 'Rejected', 'rejected by 1/3 proxies: web-1.shop: route: invalid regex'],
    ],
    [
      'an invalid edit: the last good version is what is programmed',
      invalid,
      p(2, 2),
      ['True', 'Programmed', 'acked by 2/2 proxies (the last good version, generation 3)'],
    ],
    ['nothing valid to program', { ...invalid, inForce: undefined }, p(2, 2), ['False', 'Invalid', 'no valid version of the policy to program']],
    ['attached to nothing', { ...policy, attachedTo: [] }, undefined, ['False', 'NotAttached', 'attached to no service port: nothing to program']],
    [
      'a part this control plane can never program (STRICT mTLS without workload certificates), whatever the proxies acked',
      { ...policy, unprogrammable: { reason: 'NoWorkloadCertificates', message: 'spec.mtls.mode: STRICT cannot be enforced' } },
      p(3, 3),
      ['False', 'NoWorkloadCertificates', 'spec.mtls.mode: STRICT cannot be enforced; the rest of the policy: acked by 3/3 proxies'],
    ],
  ] as const)('%s', (_what, pol, progress, [status, reason, message]) => {
    expect(programmed(pol, progress)).toEqual({ type: 'Programmed', status, reason, message });
  });
});

describe('policyStatuses', () => {
  it('adds Programmed only where something is served', () => {
    expect(policyStatuses([policy])[0]?.conditions.map((c) => c.type)).toEqual(['Accepted']);
    const served = policyStatuses([policy], new Map([['TrafficPolicy shop/web', p(2, 2)]]));
    expect(served[0]?.conditions.map((c) => c.type)).toEqual(['Accepted', 'Programmed']);
    expect(formatPolicyStatus(served[0]!)).toEqual([
      'TrafficPolicy shop/web: Accepted=True (Accepted): attached to Service shop/web:80',
      'TrafficPolicy shop/web: Programmed=True (Programmed): acked by 2/2 proxies',
    ]);
  });

  it('gives the progress as counts where something is served (the debug view reads them, not the message)', () => {
    expect(policyStatuses([policy])[0]?.progress).toBeUndefined();
    const rejected = p(3, 1, [{ proxyId: 'web-0.shop', message: 'bad' }]);
    expect(policyStatuses([policy], new Map([['TrafficPolicy shop/web', rejected]]))[0]?.progress).toEqual({ proxies: 3, acked: 1, rejected: 1 });
    expect(policyStatuses([policy], new Map())[0]?.progress).toEqual({ proxies: 0, acked: 0, rejected: 0 });
  });
});
