/**
 * Mutual TLS in the model (src/model/mtls.ts): nothing when workload certificates are off but the
 * truth about a policy asking for STRICT; when on, a mode per service port and workload port,
 * endpoints in the mesh by their Pod's label, each service's identities, and the warnings.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, type ModelOptions } from '../../src/model/build.ts';
import { endpointSliceSchema, podSchema, serviceSchema, trafficPolicyInputSchema, type MeshInputs } from '../../src/model/inputs.ts';
import { formatPolicyStatus, policyStatuses } from '../../src/model/policy-status.ts';
import type { MeshModel } from '../../src/model/types.ts';
import { flat } from '../support/diagnostics.ts';

const origin = {};

function service(name: string, spec: Record<string, unknown>): MeshInputs['services'][number] {
  return { object: serviceSchema.parse({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec }), origin };
}

function slice(service: string, port: number, pods: [ip: string, pod: string][]): MeshInputs['endpointSlices'][number] {
  return {
    object: endpointSliceSchema.parse({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-x`, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port }],
      endpoints: pods.map(([ip, pod]) => ({ addresses: [ip], targetRef: { kind: 'Pod', name: pod, namespace: 'shop' } })),
    }),
    origin,
  };
}

function pod(name: string, ip: string, labels: Record<string, string>, serviceAccount = name.replace(/-\d+$/, '')): MeshInputs['pods'][number] {
  return {
    object: podSchema.parse({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop', labels },
      spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: { podIP: ip },
    }),
    origin,
  };
}

function policy(name: string, target: string, mode: string, extra: Record<string, unknown> = {}): MeshInputs['trafficPolicies'][number] {
  return {
    object: trafficPolicyInputSchema.parse({
      apiVersion: 'trellis.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name, namespace: 'shop' },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: target }], mtls: { mode }, ...extra },
    }),
    origin: { file: `${name}.yaml`, document: 0 },
  };
}

const MESH = { 'trellis.dev/tls-mode': 'mesh' };

/** web (http 80 → 8080): web-0 in the mesh, web-1 not; also selected by `admin` (80 → 8080); ext: ExternalName. */
function inputs(policies: MeshInputs['trafficPolicies'] = []): MeshInputs {
  return {
    namespaces: [],
    nodes: [],
    services: [
      service('web', { clusterIP: '10.96.0.1', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      service('admin', { clusterIP: '10.96.0.2', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      service('ext', { type: 'ExternalName', externalName: 'api.example.com', ports: [{ name: 'http', port: 443 }] }),
    ],
    endpointSlices: [
      slice('web', 8080, [
        ['10.0.0.1', 'web-0'],
        ['10.0.0.2', 'web-1'],
      ]),
    ],
    pods: [pod('web-0', '10.0.0.1', { app: 'web', ...MESH }), pod('web-1', '10.0.0.2', { app: 'web' }, 'web-legacy')],
    trafficPolicies: policies,
  };
}

const ON = (defaultMode: 'STRICT' | 'PERMISSIVE'): ModelOptions => ({
  domain: 'cluster.local',
  trustDomain: 'example.org',
  mtls: { enabled: true, defaultMode },
});
const OFF: ModelOptions = { domain: 'cluster.local', trustDomain: 'example.org', mtls: { enabled: false, defaultMode: 'PERMISSIVE' } };

const svc = (m: MeshModel, name: string) => m.services.find((s) => s.name === name);
const conditionsOf = (m: MeshModel, name: string) => m.policies.find((p) => p.name === name)?.conditions.map((c) => [c.type, c.status, c.reason, c.message]);

describe('mTLS off (no workload certificates)', () => {
  it('adds nothing to the model, whatever the labels and the default say', () => {
    for (const opts of [OFF, { domain: 'cluster.local', trustDomain: 'example.org' }]) {
      const m = buildModel(inputs(), opts);
      expect(m.mtls).toBeUndefined();
      expect(JSON.stringify(m)).not.toMatch(/"mtls":|"mesh":|"identities":/);
      expect(m.diagnostics).toEqual([]);
    }
  });

  it('a policy asking for STRICT is an error, PartiallyInvalid, and never Programmed: traffic stays plaintext and says so', () => {
    const m = buildModel(inputs([policy('web-strict', 'web', 'STRICT', { timeouts: { request: '5s' } })]), OFF);
    const message =
      'STRICT cannot be enforced: workload certificates are off (Trellis runs without --issuer), so traffic to Service shop/web:80 stays plaintext';
    expect(flat(m.diagnostics)).toEqual([{ object: 'TrafficPolicy shop/web-strict', field: 'spec.mtls.mode', message }]);
    expect(conditionsOf(m, 'web-strict')).toEqual([
      ['Accepted', 'True', 'Accepted', 'attached to Service shop/web:80'],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 'every reference resolved'],
      ['PartiallyInvalid', 'True', 'UnsupportedValue', `spec.mtls.mode: ${message}`],
    ]);
    // The rest of the policy is in force; the port has no mode.
    const port = svc(m, 'web')?.ports[0];
    expect(port?.policy?.settings.timeouts).toEqual({ request: '5s' });
    expect(port?.mtls).toBeUndefined();
    // Programmed is False whatever the proxies acked (what /debug/policies and the status writer show).
    const [status] = policyStatuses(m.policies, new Map([['TrafficPolicy shop/web-strict', { proxies: 2, acked: 2, rejected: [] }]]));
    expect(status?.conditions.find((c) => c.type === 'Programmed')).toEqual({
      type: 'Programmed',
      status: 'False',
      reason: 'NoWorkloadCertificates',
      message: `spec.mtls.mode: ${message}; the rest of the policy: acked by 2/2 proxies`,
    });
    expect(formatPolicyStatus(status!)).toContain(
      `TrafficPolicy shop/web-strict: Programmed=False (NoWorkloadCertificates): spec.mtls.mode: ${message}; the rest of the policy: acked by 2/2 proxies`,
    );
  });

  it('a policy asking for PERMISSIVE is no problem: plaintext is what it accepts', () => {
    const m = buildModel(inputs([policy('web-permissive', 'web', 'PERMISSIVE')]), OFF);
    expect(m.diagnostics).toEqual([]);
    expect(m.policies[0]?.unprogrammable).toBeUndefined();
  });
});

describe('mTLS on (workload certificates)', () => {
  it('gives every port of the mesh the default mode, ExternalName none', () => {
    const m = buildModel(inputs(), ON('PERMISSIVE'));
    expect(m.mtls).toEqual({ defaultMode: 'PERMISSIVE' });
    expect(m.services.map((s) => [s.name, s.ports.map((p) => p.mtls)])).toEqual([
      ['admin', ['PERMISSIVE']],
      ['ext', [undefined]],
      ['web', ['PERMISSIVE']],
    ]);
  });

  it('puts in the mesh the endpoints whose Pod carries trellis.dev/tls-mode: mesh', () => {
    const m = buildModel(inputs(), ON('PERMISSIVE'));
    expect(svc(m, 'web')?.ports[0]?.endpoints.map((e) => [e.address, e.mesh])).toEqual([
      ['10.0.0.1', true],
      ['10.0.0.2', undefined],
    ]);
  });

  it('lists each service’s identities: of the pods it selects and those behind its endpoints, sorted', () => {
    const m = buildModel(inputs(), ON('PERMISSIVE'));
    expect(svc(m, 'web')?.identities).toEqual(['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/shop/sa/web-legacy']);
    expect(svc(m, 'admin')?.identities).toEqual(['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/shop/sa/web-legacy']);
    expect(svc(m, 'ext')?.identities).toBeUndefined();
  });

  it('a policy’s mode wins over the default, on the ports it targets', () => {
    const m = buildModel(inputs([policy('web-strict', 'web', 'STRICT')]), ON('PERMISSIVE'));
    expect(svc(m, 'web')?.ports[0]?.mtls).toBe('STRICT');
    expect(svc(m, 'admin')?.ports[0]?.mtls).toBe('PERMISSIVE');
    expect(m.policies[0]?.unprogrammable).toBeUndefined();
  });

  it('a workload port targeted STRICT and PERMISSIVE is STRICT, with a warning on the Pod', () => {
    const m = buildModel(inputs([policy('web-strict', 'web', 'STRICT')]), ON('PERMISSIVE'));
    expect(m.workloads.map((w) => [w.name, w.ports.map((p) => [p.port, p.mtls])])).toEqual([
      ['web-0', [[8080, 'STRICT']]],
      ['web-1', [[8080, 'STRICT']]],
    ]);
    expect(flat(m.diagnostics).filter((d) => d.object?.startsWith('Pod'))).toEqual(
      ['web-0', 'web-1'].map((name) => ({
        object: `Pod shop/${name}`,
        message:
          'port 8080 is targeted by Service shop/admin:80 (PERMISSIVE), Service shop/web:80 (STRICT): its sidecar accepts only mutual TLS there (STRICT wins)',
        severity: 'warning',
      })),
    );
  });

  it('a STRICT port with endpoints outside the mesh is a warning: on the policy that made it STRICT', () => {
    const m = buildModel(inputs([policy('web-strict', 'web', 'STRICT')]), ON('PERMISSIVE'));
    expect(flat(m.diagnostics).filter((d) => d.object?.startsWith('TrafficPolicy'))).toEqual([
      {
        object: 'TrafficPolicy shop/web-strict',
        field: 'spec.mtls.mode',
        message:
          'Service shop/web:80: 1 of its 2 endpoints is not in the mesh (its Pod lacks trellis.dev/tls-mode: mesh): 10.0.0.2 (Pod shop/web-1); ' +
          'clients send it mutual TLS, which only a sidecar can answer',
        severity: 'warning',
      },
    ]);
    // A warning changes nothing asked: the policy is not PartiallyInvalid.
    expect(conditionsOf(m, 'web-strict')?.map((c) => c[0])).toEqual(['Accepted', 'ResolvedRefs']);
  });

  it('… and on the Service when --mtls-mode made it STRICT', () => {
    const m = buildModel(inputs(), ON('STRICT'));
    expect(flat(m.diagnostics)).toEqual([
      {
        object: 'Service shop/web',
        message:
          'port 80 is STRICT (--mtls-mode): 1 of its 2 endpoints is not in the mesh (its Pod lacks trellis.dev/tls-mode: mesh): 10.0.0.2 (Pod shop/web-1); ' +
          'clients send it mutual TLS, which only a sidecar can answer',
        severity: 'warning',
      },
    ]);
  });

  it('STRICT on an ExternalName service is an error: the mesh cannot secure what is outside it', () => {
    const m = buildModel(inputs([policy('ext-strict', 'ext', 'STRICT')]), ON('PERMISSIVE'));
    const message =
      'Service shop/ext:443 is an ExternalName service, outside the mesh: mutual TLS does not apply and traffic to it is not encrypted by the mesh';
    expect(flat(m.diagnostics)).toEqual([{ object: 'TrafficPolicy shop/ext-strict', field: 'spec.mtls.mode', message }]);
    expect(conditionsOf(m, 'ext-strict')?.[2]).toEqual(['PartiallyInvalid', 'True', 'UnsupportedValue', `spec.mtls.mode: ${message}`]);
    expect(m.policies[0]?.unprogrammable).toBeUndefined();
  });
});
