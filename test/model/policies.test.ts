/**
 * TrafficPolicies in the model: attachment to service ports, the merge rule (oldest wins field by
 * field, the others Conflicted), TargetNotFound, and Invalid with the last good version in force.
 */
import { describe, expect, it } from 'vitest';
import { objectStatuses, ref } from '../support/diagnostics.ts';
import { buildModel } from '../../src/model/build.ts';
import { serviceSchema, trafficPolicyInputSchema, type MeshInputs } from '../../src/model/inputs.ts';
import type { MeshModel } from '../../src/model/types.ts';

const web = {
  object: serviceSchema.parse({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      clusterIP: '10.0.0.1',
      ports: [
        { name: 'http', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    },
  }),
  origin: {},
};

interface PolicyOpts {
  created?: string;
  generation?: number;
  uid?: string;
}

function policy(name: string, spec: unknown, opts: PolicyOpts = {}): MeshInputs['trafficPolicies'][number] {
  return {
    object: trafficPolicyInputSchema.parse({
      apiVersion: 'trellis.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: {
        name,
        namespace: 'shop',
        ...(opts.created ? { creationTimestamp: opts.created } : {}),
        ...(opts.generation !== undefined ? { generation: opts.generation } : {}),
        ...(opts.uid ? { uid: opts.uid } : {}),
      },
      spec,
    }),
    origin: { file: `${name}.yaml`, document: 0 },
  };
}

const target = (extra: Record<string, unknown> = {}) => ({ targetRefs: [{ group: '', kind: 'Service', name: 'web', ...extra }] });

function model(policies: MeshInputs['trafficPolicies'], previous?: MeshModel): MeshModel {
  return buildModel({ namespaces: [], nodes: [], services: [web], endpointSlices: [], pods: [], trafficPolicies: policies }, undefined, previous);
}

function port(m: MeshModel, n: number) {
  return m.services[0]?.ports.find((p) => p.port === n);
}

function conditions(m: MeshModel, name: string) {
  return m.policies.find((p) => p.name === name)?.conditions.map((c) => [c.type, c.status, c.reason, c.message]);
}

describe('attaching TrafficPolicies', () => {
  it('applies a policy to every port of its Service, or to the port it names', () => {
    const m = model([policy('all', { ...target(), timeouts: { request: '5s' } }), policy('admin', { ...target({ port: 9000 }), retries: { attempts: 2 } })]);
    expect(port(m, 80)?.policy?.settings).toEqual({ timeouts: { request: '5s' } });
    expect(port(m, 9000)?.policy?.settings).toEqual({ timeouts: { request: '5s' }, retries: { attempts: 2 } });
    expect(port(m, 9000)?.policy?.origins).toEqual({ 'retries.attempts': ref('TrafficPolicy shop/admin'), 'timeouts.request': ref('TrafficPolicy shop/all') });
    expect(m.policies.map((p) => [p.name, p.attachedTo])).toEqual([
      ['admin', ['Service shop/web:9000']],
      ['all', ['Service shop/web:80', 'Service shop/web:9000']],
    ]);
    expect(conditions(m, 'admin')).toEqual([
      ['Accepted', 'True', 'Accepted', 'attached to Service shop/web:9000'],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 'every reference resolved'],
    ]);
  });

  it('attaches by sectionName (the port name)', () => {
    const m = model([policy('p', { ...target({ sectionName: 'admin' }), retries: { attempts: 1 } })]);
    expect(port(m, 80)?.policy).toBeUndefined();
    expect(port(m, 9000)?.policy?.settings.retries).toEqual({ attempts: 1 });
  });

  it('the oldest wins field by field; the younger is Conflicted for the fields it lost', () => {
    const m = model([
      policy('young', { ...target(), timeouts: { request: '1s', idle: '30s' }, retries: { attempts: 5 } }, { created: '2026-01-02T00:00:00Z' }),
      policy('old', { ...target(), timeouts: { request: '9s' } }, { created: '2026-01-01T00:00:00Z' }),
    ]);
    expect(port(m, 80)?.policy?.settings).toEqual({ timeouts: { request: '9s', idle: '30s' }, retries: { attempts: 5 } });
    expect(conditions(m, 'young')).toEqual([
      ['Accepted', 'True', 'Accepted', 'attached to Service shop/web:80, Service shop/web:9000'],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 'every reference resolved'],
      ['Conflicted', 'True', 'Conflicted', 'fields not applied: timeouts.request (set by the older TrafficPolicy shop/old)'],
    ]);
    expect(conditions(m, 'old')).toHaveLength(2);
  });

  it('with equal creation times, the name decides', () => {
    const m = model([policy('b', { ...target(), retries: { attempts: 2 } }), policy('a', { ...target(), retries: { attempts: 1 } })]);
    expect(port(m, 80)?.policy?.settings.retries).toEqual({ attempts: 1 });
    expect(conditions(m, 'b')?.[2]?.[3]).toBe('fields not applied: retries.attempts (set by the older TrafficPolicy shop/a)');
  });

  it('merges coupled fields as one: a ring hash never meets another policy’s hash key', () => {
    const m = model([
      policy('a', { ...target(), loadBalancing: { algorithm: 'roundRobin' } }),
      policy('b', { ...target(), loadBalancing: { algorithm: 'ringHash', hash: { sourceIP: true } } }),
    ]);
    expect(port(m, 80)?.policy?.settings.loadBalancing).toEqual({ algorithm: 'roundRobin' });
    expect(conditions(m, 'b')?.[2]?.[3]).toBe('fields not applied: loadBalancing.algorithm, loadBalancing.hash (set by the older TrafficPolicy shop/a)');
  });

  it.each([
    ['a missing Service', { name: 'nope' }, 'spec.targetRefs[0]: Service shop/nope not found'],
    ['a missing port', { name: 'web', port: 81 }, 'spec.targetRefs[0]: Service shop/web has no port 81: it has 80 (http), 9000 (admin)'],
    [
      'a missing port name',
      { name: 'web', sectionName: 'grpc' },
      'spec.targetRefs[0]: Service shop/web has no port named "grpc": it has 80 (http), 9000 (admin)',
    ],
  ])('a policy whose target does not exist is not Accepted: TargetNotFound (%s)', (_what, ref, message) => {
    const m = model([policy('p', { targetRefs: [{ group: '', kind: 'Service', ...ref }], retries: { attempts: 1 } })]);
    expect(conditions(m, 'p')).toEqual([['Accepted', 'False', 'TargetNotFound', message]]);
    expect(objectStatuses(m.diagnostics).find((s) => s.object === 'TrafficPolicy shop/p')?.accepted).toBe(false);
    expect(port(m, 80)?.policy).toBeUndefined();
  });

  it('an invalid policy changes nothing and names the field', () => {
    const m = model([policy('p', { ...target(), retries: { attempts: -1 } })]);
    expect(conditions(m, 'p')).toEqual([['Accepted', 'False', 'Invalid', 'spec.retries.attempts: Too small: expected number to be >=0; it changes nothing']]);
    expect(port(m, 80)?.policy).toBeUndefined();
    expect(objectStatuses(m.diagnostics).find((s) => s.object === 'TrafficPolicy shop/p')).toMatchObject({
      accepted: false,
      origin: { file: 'p.yaml', document: 0 },
      errors: [{ field: 'spec.retries.attempts' }],
    });
  });

  it('names an unknown field as the API server does', () => {
    const m = model([policy('p', { ...target(), retries: { attemps: 1 } })]);
    expect(
      objectStatuses(m.diagnostics)
        .find((s) => s.object === 'TrafficPolicy shop/p')
        ?.errors.map((e) => e.field),
    ).toContain('spec.retries.attemps');
  });

  it('keeps the last good version of a policy in force when an edit is invalid', () => {
    const good = model([policy('p', { ...target(), retries: { attempts: 3 } }, { generation: 1, uid: 'u1' })]);
    const bad = model([policy('p', { ...target(), retries: { attempts: 'many' } }, { generation: 2, uid: 'u1' })], good);
    expect(port(bad, 80)?.policy?.settings.retries).toEqual({ attempts: 3 });
    expect(conditions(bad, 'p')?.[0]).toEqual([
      'Accepted',
      'False',
      'Invalid',
      'spec.retries.attempts: Invalid input: expected number, received string; the last good version (generation 1) stays in force',
    ]);
    // ...and on through further models, until the object is fixed or replaced.
    const still = model([policy('p', { ...target(), retries: { attempts: 'many' } }, { generation: 2, uid: 'u1' })], bad);
    expect(port(still, 80)?.policy?.settings.retries).toEqual({ attempts: 3 });
    const replaced = model([policy('p', { ...target(), retries: { attempts: 'many' } }, { generation: 1, uid: 'u2' })], still);
    expect(port(replaced, 80)?.policy).toBeUndefined();
    const fixed = model([policy('p', { ...target(), retries: { attempts: 4 } }, { generation: 3, uid: 'u1' })], bad);
    expect(port(fixed, 80)?.policy?.settings.retries).toEqual({ attempts: 4 });
  });

  it('the model survives JSON (plain data)', () => {
    const m = model([policy('p', { ...target(), retries: { attempts: 3 } })]);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});
