/**
 * Authorization in the model (src/model/authorization.ts): every accepted policy's authorization
 * applies to the ports it attaches to, side by side and never merged; what only the model can check
 * makes a policy invalid (Accepted=False naming the field, the last good version kept while it still
 * holds); rules naming callers without workload certificates are errors and keep the policy from
 * being Programmed; a DENY naming callers on a PERMISSIVE port is a warning.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, type ModelOptions } from '../../src/model/build.ts';
import { podSchema, serviceSchema, trafficPolicyInputSchema, type MeshInputs } from '../../src/model/inputs.ts';
import { policyStatuses } from '../../src/model/policy-status.ts';
import type { MeshModel } from '../../src/model/types.ts';
import { flat } from '../support/diagnostics.ts';

const origin = {};
const TD = 'example.org';
const FRONTEND = `spiffe://${TD}/ns/shop/sa/frontend`;

function service(name: string, spec: Record<string, unknown>): MeshInputs['services'][number] {
  return { object: serviceSchema.parse({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec }), origin };
}

const web = service('web', {
  clusterIP: '10.96.0.1',
  selector: { app: 'web' },
  ports: [
    { name: 'http', port: 80, targetPort: 8080 },
    { name: 'tcp-admin', port: 9000 },
  ],
});
const ext = service('ext', { type: 'ExternalName', externalName: 'api.example.com', ports: [{ name: 'http', port: 443 }] });
const pod = {
  object: podSchema.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } },
    spec: { serviceAccountName: 'web', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { podIP: '10.0.0.1' },
  }),
  origin,
};

function policy(
  name: string,
  spec: Record<string, unknown>,
  opts: { uid?: string; target?: Record<string, unknown> } = {},
): MeshInputs['trafficPolicies'][number] {
  return {
    object: trafficPolicyInputSchema.parse({
      apiVersion: 'trellis.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name, namespace: 'shop', ...(opts.uid ? { uid: opts.uid } : {}) },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'web', ...opts.target }], ...spec },
    }),
    origin: { file: `${name}.yaml`, document: 0 },
  };
}

const ON = (defaultMode: 'STRICT' | 'PERMISSIVE'): ModelOptions => ({ domain: 'cluster.local', trustDomain: TD, mtls: { enabled: true, defaultMode } });
const OFF: ModelOptions = { domain: 'cluster.local', trustDomain: TD };

function model(policies: MeshInputs['trafficPolicies'], opts: ModelOptions = ON('STRICT'), previous?: MeshModel, services = [web]): MeshModel {
  return buildModel({ namespaces: [], nodes: [], services, endpointSlices: [], pods: [pod], trafficPolicies: policies }, opts, previous);
}

const port = (m: MeshModel, n: number) => m.services.find((s) => s.name === 'web')?.ports.find((p) => p.port === n);
const conditions = (m: MeshModel, name: string) => m.policies.find((p) => p.name === name)?.conditions.map((c) => [c.type, c.status, c.reason, c.message]);
const allowFrom = (entry: Record<string, unknown>, to?: Record<string, unknown>[]) => ({
  authorization: { action: 'ALLOW', rules: [{ from: [entry], ...(to ? { to } : {}) }] },
});

describe('every accepted policy applies', () => {
  it('a DENY and an ALLOW on one port are both there, sorted by policy; neither is Conflicted, and nothing is merged', () => {
    const m = model([
      policy('web-allow', allowFrom({ identities: [FRONTEND] })),
      policy('web-deny', { authorization: { action: 'DENY', rules: [{ from: [{ namespaces: ['batch'] }] }] } }),
    ]);
    expect(m.diagnostics).toEqual([]);
    expect(port(m, 80)?.authorization?.map((a) => [a.policy.name, a.action])).toEqual([
      ['web-allow', 'ALLOW'],
      ['web-deny', 'DENY'],
    ]);
    expect(port(m, 9000)?.authorization?.map((a) => a.policy.name)).toEqual(['web-allow', 'web-deny']);
    // A policy with authorization alone merges nothing: the port has no merged policy.
    expect(port(m, 80)?.policy).toBeUndefined();
    for (const name of ['web-allow', 'web-deny']) expect(conditions(m, name)?.map((c) => c[0])).toEqual(['Accepted', 'ResolvedRefs']);
  });

  it('two ALLOW policies both apply (neither loses to the older), beside the merged traffic settings', () => {
    const m = model([
      policy('a', { ...allowFrom({ namespaces: ['shop'] }), timeouts: { request: '1s' } }),
      policy('b', { ...allowFrom({ namespaces: ['ops'] }), timeouts: { request: '2s' } }),
    ]);
    expect(port(m, 80)?.authorization?.map((a) => a.rules[0]?.from)).toEqual([[{ namespaces: ['shop'] }], [{ namespaces: ['ops'] }]]);
    expect(port(m, 80)?.policy?.settings).toEqual({ timeouts: { request: '1s' } });
    expect(JSON.stringify(conditions(m, 'b'))).not.toContain('authorization');
  });

  it('a policy on one port applies to that port only', () => {
    const m = model([policy('web-80', allowFrom({ namespaces: ['shop'] }), { target: { port: 80 } })]);
    expect(port(m, 80)?.authorization).toHaveLength(1);
    expect(port(m, 9000)?.authorization).toBeUndefined();
  });
});

describe('what only the model can check: Accepted=False, naming the field', () => {
  it.each([
    [
      'an identity outside the trust domain',
      allowFrom({ identities: ['spiffe://other.org/ns/shop/sa/frontend'] }),
      'spec.authorization.rules[0].from[0].identities[0]',
      'spiffe://other.org/ns/shop/sa/frontend is outside the trust domain example.org: no workload of this mesh has it, and no certificate of another would be accepted',
    ],
    [
      'paths on a policy whose target has a TCP port',
      allowFrom({ namespaces: ['shop'] }, [{ paths: [{ type: 'PathPrefix', value: '/api' }] }]),
      'spec.authorization.rules[0].to[0].paths',
      "paths apply to HTTP requests, and Service shop/web:9000 is a TCP port: name the HTTP ports in this entry's ports, or target them alone",
    ],
    [
      'methods on a TCP port named in ports',
      allowFrom({ namespaces: ['shop'] }, [{ methods: ['GET'], ports: [9000] }]),
      'spec.authorization.rules[0].to[0].methods',
      "methods apply to HTTP requests, and Service shop/web:9000 is a TCP port: name the HTTP ports in this entry's ports, or target them alone",
    ],
    [
      'a port the target does not have',
      allowFrom({ namespaces: ['shop'] }, [{ ports: [8443] }]),
      'spec.authorization.rules[0].to[0].ports[0]',
      'port 8443 is not a port the policy attaches to (Service shop/web:80, Service shop/web:9000)',
    ],
  ])('%s', (_what, spec, field, message) => {
    const m = model([policy('bad', spec)]);
    expect(flat(m.diagnostics)).toEqual([{ object: 'TrafficPolicy shop/bad', field, message }]);
    expect(conditions(m, 'bad')).toEqual([['Accepted', 'False', 'Invalid', `${field}: ${message}; it changes nothing`]]);
    expect(port(m, 80)?.authorization).toBeUndefined();
  });

  it('paths restricted by ports to the HTTP port are fine on a target that also has a TCP port', () => {
    const m = model([policy('ok', allowFrom({ namespaces: ['shop'] }, [{ paths: [{ type: 'Exact', value: '/healthz' }], ports: [80] }]))]);
    expect(m.diagnostics).toEqual([]);
    expect(port(m, 9000)?.authorization).toHaveLength(1);
  });

  it('a port of the Service the policy does not attach to (it targets port 80 only)', () => {
    const m = model([policy('bad', allowFrom({ namespaces: ['shop'] }, [{ ports: [9000] }]), { target: { port: 80 } })]);
    expect(flat(m.diagnostics)).toEqual([
      {
        object: 'TrafficPolicy shop/bad',
        field: 'spec.authorization.rules[0].to[0].ports[0]',
        message: 'port 9000 is not a port the policy attaches to (Service shop/web:80)',
      },
    ]);
  });

  it('an ExternalName target: no workload of the mesh serves it', () => {
    const m = model([policy('bad', allowFrom({ namespaces: ['shop'] }), { target: { name: 'ext' } })], ON('STRICT'), undefined, [web, ext]);
    expect(flat(m.diagnostics)).toEqual([
      {
        object: 'TrafficPolicy shop/bad',
        field: 'spec.authorization',
        message:
          'Service shop/ext is an ExternalName service: authorization is enforced by the proxies of the workloads behind a Service, and no workload of the mesh serves it',
      },
    ]);
  });

  it('an invalid edit keeps the last good version in force, while that one still holds', () => {
    const good = model([policy('p', allowFrom({ identities: [FRONTEND] }), { uid: 'u1' })]);
    const edited = model([policy('p', allowFrom({ identities: ['spiffe://other.org/ns/shop/sa/x'] }), { uid: 'u1' })], ON('STRICT'), good);
    expect(conditions(edited, 'p')?.[0]).toEqual([
      'Accepted',
      'False',
      'Invalid',
      expect.stringMatching(/^spec\.authorization\.rules\[0\]\.from\[0\]\.identities\[0\]: .*; the last good version stays in force$/),
    ]);
    expect(port(edited, 80)?.authorization?.[0]?.rules[0]?.from).toEqual([{ identities: [FRONTEND] }]);
    // The Service changes under it so that the last good version no longer holds (port 80 becomes TCP
    // while the good version has paths): nothing of it stays in force.
    const withPaths = model([policy('p', allowFrom({ namespaces: ['shop'] }, [{ paths: [{ type: 'Exact', value: '/a' }], ports: [80] }]), { uid: 'u1' })]);
    const tcpWeb = service('web', { clusterIP: '10.96.0.1', selector: { app: 'web' }, ports: [{ name: 'tcp', port: 80, targetPort: 8080 }] });
    const after = model([policy('p', { authorization: { action: 'DENY', rules: [] } }, { uid: 'u1' })], ON('STRICT'), withPaths, [tcpWeb]);
    expect(conditions(after, 'p')?.[0]?.slice(0, 3)).toEqual(['Accepted', 'False', 'Invalid']);
    expect(after.policies[0]?.inForce).toBeUndefined();
    expect(port(after, 80)?.authorization).toBeUndefined();
  });
});

describe('without workload certificates', () => {
  it('a rule naming callers is an error, PartiallyInvalid, and the policy is never Programmed (NoWorkloadCertificates)', () => {
    const m = model([policy('web-allow', allowFrom({ identities: [FRONTEND] }))], OFF);
    const message =
      'identities and namespaces cannot be enforced: workload certificates are off (Trellis runs without --issuer), so no caller has one: ' +
      'this ALLOW rule lets no one in, and the callers it names are refused with everyone no rule allows';
    expect(flat(m.diagnostics)).toEqual([{ object: 'TrafficPolicy shop/web-allow', field: 'spec.authorization.rules[0].from', message }]);
    expect(conditions(m, 'web-allow')).toEqual([
      ['Accepted', 'True', 'Accepted', 'attached to Service shop/web:80, Service shop/web:9000'],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 'every reference resolved'],
      ['PartiallyInvalid', 'True', 'UnsupportedValue', `spec.authorization.rules[0].from: ${message}`],
    ]);
    // Still in the model as written: translated, it refuses everyone (fail closed), and says so.
    expect(port(m, 80)?.authorization).toHaveLength(1);
    const [status] = policyStatuses(m.policies, new Map([['TrafficPolicy shop/web-allow', { proxies: 1, acked: 1, rejected: [] }]]));
    expect(status?.conditions.at(-1)).toEqual({
      type: 'Programmed',
      status: 'False',
      reason: 'NoWorkloadCertificates',
      message: `spec.authorization.rules[0].from: ${message}; the rest of the policy: acked by 1/1 proxy`,
    });
  });

  it('a DENY naming callers refuses no one, and says so', () => {
    const m = model(
      [policy('web-deny', { authorization: { action: 'DENY', rules: [{ to: [{ ports: [9000] }] }, { from: [{ namespaces: ['batch'] }] }] } })],
      OFF,
    );
    expect(flat(m.diagnostics)).toEqual([
      {
        object: 'TrafficPolicy shop/web-deny',
        field: 'spec.authorization.rules[1].from',
        message:
          'identities and namespaces cannot be enforced: workload certificates are off (Trellis runs without --issuer), so no caller has one: this DENY rule refuses no one',
      },
    ]);
  });

  it('rules that only say what is called need no certificate: no problem, Programmed as usual', () => {
    const m = model(
      [policy('web-deny', { authorization: { action: 'DENY', rules: [{ to: [{ paths: [{ type: 'PathPrefix', value: '/admin' }], ports: [80] }] }] } })],
      OFF,
    );
    expect(m.diagnostics).toEqual([]);
    expect(m.policies[0]?.unprogrammable).toBeUndefined();
    const [status] = policyStatuses(m.policies, new Map([['TrafficPolicy shop/web-deny', { proxies: 1, acked: 1, rejected: [] }]]));
    expect(status?.conditions.at(-1)).toMatchObject({ type: 'Programmed', status: 'True' });
  });
});

describe('with workload certificates', () => {
  it('a DENY naming callers on a PERMISSIVE port is a warning: plaintext callers are not refused by it', () => {
    const deny = policy('web-deny', { authorization: { action: 'DENY', rules: [{ from: [{ namespaces: ['batch'] }] }] } });
    expect(flat(model([deny], ON('PERMISSIVE')).diagnostics)).toEqual([
      {
        object: 'TrafficPolicy shop/web-deny',
        field: 'spec.authorization.rules[0].from',
        message:
          'Service shop/web:80, Service shop/web:9000 accept plaintext (PERMISSIVE): a plaintext caller has no identity or namespace, and this rule does not refuse it; make the service STRICT',
        severity: 'warning',
      },
    ]);
    // STRICT by the policy itself: nothing to say. An ALLOW refuses plaintext callers anyway: nothing to say either.
    expect(
      model(
        [policy('web-deny', { mtls: { mode: 'STRICT' }, authorization: { action: 'DENY', rules: [{ from: [{ namespaces: ['batch'] }] }] } })],
        ON('PERMISSIVE'),
      ).diagnostics,
    ).toEqual([]);
    expect(model([policy('web-allow', allowFrom({ namespaces: ['shop'] }))], ON('PERMISSIVE')).diagnostics).toEqual([]);
  });
});
