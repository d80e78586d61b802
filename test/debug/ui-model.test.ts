/**
 * The UI's pure helpers (src/debug/ui/model.js, served as it is to the browser): problems first,
 * the NACK list with the objects behind it, policy verdicts, problems by file, the deep links.
 */
import { describe, expect, it } from 'vitest';
import { buildSyncz } from '../../src/debug/syncz.ts';
import {
  ackedBy,
  links,
  nacks,
  parseRoute,
  policiesProblemsFirst,
  policyVerdict,
  problemsByFile,
  proxiesProblemsFirst,
  serviceLink,
} from '../../src/debug/ui/model.js';
import type { PolicyCondition } from '../../src/model/policy-status.ts';
import { NACK, proxy, typeStatus, V1, V2 } from './support.ts';

const cond = (type: PolicyCondition['type'], status: 'True' | 'False', reason = 'R', message = ''): PolicyCondition => ({ type, status, reason, message });
const policy = (name: string, conditions: PolicyCondition[]) => ({ policy: `TrafficPolicy shop/${name}`, conditions });

describe('proxiesProblemsFirst', () => {
  it('puts ERROR, then STALE, then NOT SENT before SYNCED, each by id', () => {
    const list = [
      { proxyId: 'a', streamId: 1, state: 'SYNCED' },
      { proxyId: 'b', streamId: 2, state: 'NOT SENT' },
      { proxyId: 'c', streamId: 3, state: 'ERROR' },
      { proxyId: 'd', streamId: 4, state: 'STALE' },
      { proxyId: 'e', streamId: 5, state: 'ERROR' },
    ] as const;
    expect(proxiesProblemsFirst(list).map((p) => p.proxyId)).toEqual(['c', 'e', 'd', 'b', 'a']);
  });
});

describe('nacks', () => {
  it('lists each NACK with its proxy, type, message and the objects behind the rejected resources, current ones first', () => {
    const rejected = {
      ...NACK,
      rejected: [
        {
          kind: 'cluster' as const,
          name: 'c',
          version: V2,
          sources: [
            { kind: 'TrafficPolicy', namespace: 'shop', name: 'p' },
            { kind: 'Service', namespace: 'shop', name: 'web' },
          ],
        },
        { kind: 'cluster' as const, name: 'd', version: V2, sources: [{ kind: 'Service', namespace: 'shop', name: 'web' }] },
      ],
    };
    const view = buildSyncz([
      proxy('old.shop', 1, 'sotw', [typeStatus('route', 'SYNCED', V2, V2, { ...NACK, at: NACK.at + 1 })]),
      proxy('<b>x</b>.shop', 2, 'sotw', [typeStatus('cluster', 'ERROR', V2, V1, rejected), typeStatus('listener', 'SYNCED', V1, V1)]),
    ]);
    expect(nacks(view.proxies).map((n) => [n.proxyId, n.type, n.current, n.error.message, n.sources])).toEqual([
      ['<b>x</b>.shop', 'CDS', true, NACK.message, ['Service shop/web', 'TrafficPolicy shop/p']],
      ['old.shop', 'RDS', false, NACK.message, []],
    ]);
  });
});

describe('policy verdicts', () => {
  it.each([
    ['accepted and programmed', [cond('Accepted', 'True'), cond('Programmed', 'True')], 'ok'],
    ['pending', [cond('Accepted', 'True'), cond('Programmed', 'False', 'Pending')], 'pending'],
    ['rejected by a proxy', [cond('Accepted', 'True'), cond('Programmed', 'False', 'Rejected')], 'error'],
    ['conflicted', [cond('Accepted', 'True'), cond('Conflicted', 'True')], 'error'],
    ['partially invalid', [cond('Accepted', 'True'), cond('PartiallyInvalid', 'True')], 'error'],
    ['not accepted', [cond('Accepted', 'False')], 'error'],
  ] as const)('%s: %s', (_name, conditions, verdict) => {
    expect(policyVerdict({ conditions: [...conditions] })).toBe(verdict);
  });

  it('sorts problems first, then pending, then by name', () => {
    const list = [
      policy('a', [cond('Programmed', 'True')]),
      policy('b', [cond('Programmed', 'False', 'Pending')]),
      policy('c', [cond('Programmed', 'False', 'Rejected')]),
    ];
    expect(policiesProblemsFirst(list).map((p) => p.policy)).toEqual(['TrafficPolicy shop/c', 'TrafficPolicy shop/b', 'TrafficPolicy shop/a']);
  });

  it.each([
    [{ proxies: 3, acked: 2, rejected: 0 }, 'acked by 2/3'],
    [{ proxies: 2, acked: 1, rejected: 1 }, 'rejected by 1/2'],
    [{ proxies: 0, acked: 0, rejected: 0 }, undefined],
    [undefined, undefined],
  ])('reads the progress %j as %s', (progress, expected) => {
    expect(ackedBy(progress ? { progress } : {})).toBe(expected);
  });
});

describe('problemsByFile', () => {
  it('groups by file, files sorted and problems of no file last, each file errors first in line order', () => {
    const groups = problemsByFile([
      { severity: 'warning', message: 'w', origin: { file: 'b.yaml', line: 1 } },
      { severity: 'error', message: 'e2', origin: { file: 'b.yaml', line: 9 } },
      { severity: 'error', message: 'e1', origin: { file: 'b.yaml', line: 3 } },
      { severity: 'warning', message: 'disconnected' },
      { severity: 'error', message: 'a', origin: { file: 'a.yaml' } },
    ]);
    expect(groups.map((g) => [g.file, g.errors, g.problems.map((p) => p.message)])).toEqual([
      ['a.yaml', 1, ['a']],
      ['b.yaml', 2, ['e1', 'e2', 'w']],
      ['(no file)', 0, ['disconnected']],
    ]);
  });
});

describe('deep links', () => {
  it.each([
    [links.proxy('<img src=x>.shop'), { view: 'proxy', proxyId: '<img src=x>.shop' }],
    [
      links.resource('a/b.shop', 'CDS', 'outbound|80||web.shop.svc.cluster.local'),
      { view: 'resource', proxyId: 'a/b.shop', type: 'CDS', name: 'outbound|80||web.shop.svc.cluster.local' },
    ],
    [links.policy('shop', 'web'), { view: 'policy', namespace: 'shop', name: 'web' }],
    [links.service('shop', 'web'), { view: 'service', namespace: 'shop', name: 'web' }],
    ['#/problems', { view: 'problems' }],
    ['#/certificates', { view: 'certificates' }],
    ['', { view: 'proxies' }],
    ['#/nonsense/1/2', { view: 'proxies' }],
    ['#/proxy/%E0%A4%A', { view: 'proxy', proxyId: '%E0%A4%A' }],
  ])('%s opens %j', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('links a service port reference to its service', () => {
    expect(serviceLink('Service shop/web:80')).toBe('#/service/shop/web');
    expect(serviceLink('something else')).toBeUndefined();
  });
});
