/**
 * loadBalancing.localityAware and failover (src/translate/policy/locality.ts): the priorities a
 * proxy's assignment gets from its locality, the failover order, proxies without a locality, ports
 * without the policy, the notes on misconfigurations, and that the per-locality assignments are
 * computed once per locality. Sidecars and proxyless clients alike; every assignment passes
 * Envoy's rules.
 *
 * The model is built by hand (as buildModel builds it, region from the endpoint's Node, zone from its
 * slice), so that every combination is there: endpoints with and without a region, and a zone name
 * that two regions share. Region-level failover from real Node labels: the golden case
 * policy-locality-regions.
 */
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import type { ClusterLoadAssignment } from '../../src/envoy/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import type { Locality, MeshModel, ModelEndpoint, ModelServicePort } from '../../src/model/types.ts';
import type { MergedPolicy } from '../../src/policy/merge.ts';
import type { PolicySettings } from '../../src/policy/schema.ts';
import { parsePlace } from '../../src/policy/limits.ts';
import type { ProxyDescriptor } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import type { Translation } from '../../src/translate/translation.ts';
import type { Diagnostic as TranslationError } from '../../src/diagnostics.ts';
import { modelOf, service } from './model-fixtures.ts';
import { flat } from '../support/diagnostics.ts';
import { ref } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';
import { checkPolicies } from '../../src/model/policy-checks.ts';

const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const POLICY = 'TrafficPolicy shop/near';
const HTTP = 'outbound|80||api.shop.svc.cluster.local';
const GRPC = 'outbound|50051||api.shop.svc.cluster.local';
const PLAIN = 'outbound|80||plain.shop.svc.cluster.local';

type Failover = { from: string; to: string }[];

function loc(region: string, zone: string, subZone = ''): Locality {
  return { region, zone, subZone };
}

/** Endpoints named by their last octet, in these localities (region '': its Node is not known). */
const ENDPOINTS: readonly [number, Locality][] = [
  [1, loc('r1', 'z1', 's1')],
  [2, loc('r1', 'z1', 's2')],
  [3, loc('r1', 'z2')],
  [4, loc('r2', 'z3')],
  [5, loc('r3', 'z4')],
  [6, loc('', 'z1')],
  [7, loc('', '')],
  [8, loc('r2', 'z1')],
];

function endpoints(portNumber: number, ready = true): ModelEndpoint[] {
  return ENDPOINTS.map(([n, locality]) => ({ address: `10.0.0.${n}`, port: portNumber, ready, locality, source: ref('EndpointSlice shop/api-1') }));
}

function merged(lb: Partial<NonNullable<PolicySettings['loadBalancing']>>): MergedPolicy {
  const loadBalancing: NonNullable<PolicySettings['loadBalancing']> = { algorithm: 'roundRobin', ...lb };
  return { settings: { loadBalancing }, origins: Object.fromEntries(Object.keys(loadBalancing).map((k) => [`loadBalancing.${k}`, ref(POLICY)])) };
}

function withPolicy(p: ModelServicePort, policy: MergedPolicy | undefined): ModelServicePort {
  return policy ? { ...p, policy } : p;
}

/**
 * shop/api: http 80 and grpc 50051 over ENDPOINTS, with the policy; shop/plain: http 80 over the
 * same endpoints, no policy; shop/pods (headless) and shop/ext (ExternalName) with the policy.
 */
function model(lb: Partial<NonNullable<PolicySettings['loadBalancing']>> | undefined, ready = true): MeshModel {
  const policy = lb ? merged(lb) : undefined;
  const p = (name: string, n: number, protocol: 'http' | 'grpc', eps: ModelEndpoint[] = endpoints(n, ready)) =>
    withPolicy({ name, port: n, protocol, targetPort: n, endpoints: eps }, policy);
  return modelOf([
    service('shop', 'api', { clusterIP: '10.96.0.10', ports: [p('http', 80, 'http'), p('grpc', 50051, 'grpc')] }),
    service('shop', 'plain', { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, protocol: 'http', targetPort: 80, endpoints: endpoints(80) }] }),
    service('shop', 'pods', { kind: 'Headless', ports: [p('http', 8080, 'http', []), p('grpc', 9090, 'grpc', [])] }),
    service('shop', 'ext', { kind: 'ExternalName', externalName: 'api.example.com', ports: [p('grpc', 443, 'grpc', [])] }),
  ]);
}

type Target = 'sidecar' | 'proxyless';

function proxy(target: Target, locality?: Locality, pod = 'client-0'): ProxyDescriptor {
  const where = locality ? { locality } : {};
  return target === 'sidecar' ? { mode: 'sidecar', namespace: 'shop', pod, ...where } : { mode: 'proxyless', namespace: 'shop', ...where };
}

function cla(t: Translation, name: string): ClusterLoadAssignment {
  const found = t.resources.endpoint.find((r) => r.name === name);
  if (!found) throw new Error(`no assignment ${name}`);
  return found.message;
}

/** Each endpoint's last octet → the priority of its locality (undefined: none set). */
function priorities(a: ClusterLoadAssignment): Record<number, number | undefined> {
  const out: Record<number, number | undefined> = {};
  for (const l of a.endpoints ?? []) {
    for (const e of l.lb_endpoints ?? []) out[Number(e.endpoint?.address?.socket_address?.address?.split('.')[3])] = l.priority ?? undefined;
  }
  return out;
}

function expectValid(a: ClusterLoadAssignment): void {
  expect(checkFields(CLA, a)).toEqual([]);
  expect(validateMessage(CLA, a)).toEqual([]);
}

const TARGETS: readonly [Target, string][] = [
  ['sidecar', HTTP],
  ['proxyless', GRPC],
];

/** [title, proxy locality, failover, priority by endpoint 1..8] */
type Row = [string, Locality, Failover | undefined, number[]];

const ROWS: Row[] = [
  [
    'same sub-zone, zone, region, then the rest (a zone of the same name in another region is not the proxy’s)',
    loc('r1', 'z1', 's1'),
    undefined,
    [0, 1, 2, 3, 3, 1, 3, 3],
  ],
  ['no sub-zone: the whole zone first (an endpoint with no region is in it)', loc('r1', 'z1'), undefined, [0, 0, 1, 2, 2, 0, 2, 2]],
  ['another zone of the region', loc('r1', 'z2'), undefined, [1, 1, 0, 2, 2, 2, 2, 2]],
  [
    'failover targets in list order, before the rest',
    loc('r1', 'z1', 's1'),
    [
      { from: 'r1', to: 'r3' },
      { from: 'r1', to: 'r2' },
    ],
    [0, 1, 2, 4, 3, 1, 5, 4],
  ],
  [
    'only the entries whose from is the proxy’s region or zone',
    loc('r1', 'z1', 's1'),
    [
      { from: 'r9', to: 'r3' },
      { from: 'r1/z1', to: 'r2/z3' },
      { from: 'r1/z2', to: 'r3' },
    ],
    [0, 1, 2, 3, 4, 1, 4, 4],
  ],
  [
    'a to that is nearer already keeps its nearer priority',
    loc('r1', 'z1'),
    [
      { from: 'r1', to: 'r1/z2' },
      { from: 'r1', to: 'r2' },
    ],
    [0, 0, 1, 2, 3, 0, 3, 2],
  ],
  [
    'a region/zone to matches that region’s endpoints in the zone, and those with no region',
    loc('r1', 'z2'),
    [{ from: 'r1', to: 'r2/z1' }],
    [1, 1, 0, 3, 3, 2, 3, 2],
  ],
  [
    'a region/zone to does not match an endpoint of another region in a zone of that name',
    loc('r2', 'z3'),
    [{ from: 'r2', to: 'r5/z1' }],
    [3, 3, 3, 0, 3, 2, 3, 1],
  ],
  ['a region to does not match an endpoint with no region', loc('r2', 'z3'), [{ from: 'r2', to: 'r1' }], [2, 2, 2, 0, 3, 3, 3, 1]],
  ['a proxy that knows only its zone: the zones of that name in every region first', loc('', 'z1'), undefined, [0, 0, 1, 1, 1, 0, 1, 0]],
  ['a proxy whose from matches nothing gets no failover', loc('r2', 'z3'), [{ from: 'r1', to: 'r3' }], [2, 2, 2, 0, 2, 2, 2, 1]],
];

describe.each(TARGETS)('locality-aware assignments for %s', (target, name) => {
  it.each(ROWS)('%s', (_title, where, failover, expected) => {
    const a = cla(translate(model({ localityAware: true, ...(failover ? { failover } : {}) }), proxy(target, where)), name);
    expect(a.cluster_name).toBe(name);
    expect(priorities(a)).toEqual(Object.fromEntries(expected.map((p, i) => [i + 1, p])));
    expectValid(a);
    // Localities by priority; each locality once, weighted by its endpoints.
    const order = (a.endpoints ?? []).map((l) => l.priority ?? 0);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect((a.endpoints ?? []).map((l) => l.load_balancing_weight?.value)).toEqual((a.endpoints ?? []).map((l) => l.lb_endpoints?.length));
  });

  it('gives a proxy without a locality today’s assignment, with one warning per policy', () => {
    const m = model({ localityAware: true });
    const t = translate(m, proxy(target));
    expect(t.resources.endpoint).toEqual(translate(model(undefined), proxy(target)).resources.endpoint);
    expect(Object.values(priorities(cla(t, name)))).toEqual(Array(ENDPOINTS.length).fill(undefined));
    const noLocality = (x: Translation) => flat(x.diagnostics).filter((e) => e.message.includes('without a locality'));
    // Three locality-aware ports (api 80 and 50051, pods 9090 for proxyless), one policy: one note.
    expect(noLocality(t)).toEqual([
      { object: POLICY, field: 'spec.loadBalancing.localityAware', severity: 'warning', message: expect.stringMatching(/without a locality .* one priority/) },
    ]);
    expect(noLocality(translate(m, proxy(target, loc('r1', 'z1'))))).toEqual([]);
  });

  it('gives the shared assignment when the priorities would all be one', () => {
    const m = model({ localityAware: true });
    const shared = cla(translate(m, proxy(target)), name);
    expect(cla(translate(m, proxy(target, loc('r9', 'z9'))), name)).toBe(shared);
  });

  it('changes nothing of a port without the policy, nor the clusters', () => {
    const m = model({ localityAware: true });
    const near = translate(m, proxy(target, loc('r1', 'z1')));
    const none = translate(m, proxy(target));
    if (target === 'sidecar') expect(cla(near, PLAIN)).toBe(cla(none, PLAIN));
    expect(near.resources.endpoint.map((r) => r.name)).toEqual(none.resources.endpoint.map((r) => r.name));
    expect(near.resources.cluster).toEqual(none.resources.cluster);
    expect(near.resources.cluster.find((c) => c.name === name)?.message).not.toHaveProperty('common_lb_config');
  });

  it('names the policy among the sources of a prioritised assignment', () => {
    const m = model({ localityAware: true });
    const r = translate(m, proxy(target, loc('r1', 'z1'))).resources.endpoint.find((x) => x.name === name);
    expect(r?.sources?.map(formatRef)).toEqual(['EndpointSlice shop/api-1', 'Service shop/api', POLICY]);
  });

  it('keeps the health of the fallback endpoints in every priority', () => {
    const a = cla(translate(model({ localityAware: true }, false), proxy(target, loc('r1', 'z1'))), name);
    const statuses = new Set((a.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => e.health_status)));
    expect(statuses).toEqual(new Set([target === 'sidecar' ? 'DRAINING' : 'UNKNOWN']));
    expect(Object.values(priorities(a))).toEqual([0, 0, 1, 2, 2, 0, 2, 2]);
    expectValid(a);
  });

  it('computes an assignment once per locality, however many proxies share it', () => {
    const m = model({ localityAware: true });
    const zones = [loc('r1', 'z1'), loc('r1', 'z2'), loc('r2', 'z3')];
    const seen = new Set<ClusterLoadAssignment>();
    for (let i = 0; i < 1000; i++) seen.add(cla(translate(m, proxy(target, zones[i % 3], `client-${i}`)), name));
    expect(seen.size).toBe(3);
  });
});

describe('notes on locality-aware policies', () => {
  it.each<[string, Failover, Partial<TranslationError>[]]>([
    [
      'a from or to that is not a region or region/zone',
      [
        { from: 'r1/z1/s1', to: 'r2' },
        { from: 'r1', to: '/z3' },
        { from: 'r1', to: 'r2/' },
      ],
      [
        { field: 'spec.loadBalancing.failover[0].from', message: '"r1/z1/s1" is not a region or region/zone: this failover entry is ignored' },
        { field: 'spec.loadBalancing.failover[1].to', message: '"/z3" is not a region or region/zone: this failover entry is ignored' },
        { field: 'spec.loadBalancing.failover[2].to', message: '"r2/" is not a region or region/zone: this failover entry is ignored' },
      ],
    ],
    [
      'a failover to itself',
      [{ from: 'r1/z1', to: 'r1/z1' }],
      [{ field: 'spec.loadBalancing.failover[0]', severity: 'warning', message: 'fails over from r1/z1 to itself: this entry changes nothing' }],
    ],
    [
      'a failover to a place no endpoint is in',
      [{ from: 'r1', to: 'mars' }],
      [
        {
          field: 'spec.loadBalancing.failover[0].to',
          severity: 'warning',
          message: 'no endpoint of Service shop/api is in mars: failing over to it finds none today',
        },
      ],
    ],
  ])('%s', (_title, failover, expected) => {
    const m = model({ localityAware: true, failover });
    // The model says what the proxies cannot use (and a target with no endpoint today); translation, what changes nothing.
    const fromModel = [
      ...new Set(
        checkPolicies(m.services, (_s, p) => p.policy).map((p) =>
          JSON.stringify({ object: formatRef(p.policy), field: p.field, ...(p.severity === 'warning' ? { severity: 'warning' } : {}), message: p.message }),
        ),
      ),
    ].map((j) => JSON.parse(j) as object);
    for (const [target] of TARGETS) {
      const t = translate(m, proxy(target, loc('r1', 'z1')));
      const found = [...fromModel, ...flat(t.diagnostics).filter((e) => e.field?.startsWith('spec.loadBalancing.failover'))];
      expect(found).toEqual(expected.map((e) => ({ object: POLICY, ...e })));
    }
  });

  it('ignores a bad entry and keeps the others', () => {
    const t = translate(
      model({
        localityAware: true,
        failover: [
          { from: 'r1', to: 'a/b/c' },
          { from: 'r1', to: 'r3' },
        ],
      }),
      proxy('sidecar', loc('r1', 'z1')),
    );
    expect(Object.values(priorities(cla(t, HTTP)))).toEqual([0, 0, 1, 3, 2, 0, 3, 3]);
  });

  it.each<[Target, string[]]>([
    [
      'sidecar',
      [
        'Service shop/ext is ExternalName: the sidecar resolves the external name by DNS, so locality-aware load balancing does not apply',
        'Service shop/pods is Headless: the sidecar sends each connection to the pod address the client dialled, so locality-aware load balancing does not apply',
      ],
    ],
    ['proxyless', ['Service shop/ext is ExternalName: gRPC resolves the external name by DNS, so locality-aware load balancing does not apply']],
  ])('says where it does not apply for %s clients', (target, messages) => {
    const t = translate(model({ localityAware: true }), proxy(target, loc('r1', 'z1')));
    expect(flat(t.diagnostics).filter((e) => e.field === 'spec.loadBalancing.localityAware')).toEqual(
      messages.map((message) => ({ object: POLICY, field: 'spec.loadBalancing.localityAware', severity: 'warning', message })),
    );
  });

  it('shapes a headless service’s assignment for proxyless clients, which balance over the pods themselves', () => {
    const m = model({ localityAware: true });
    const pods = m.services.find((s) => s.name === 'pods');
    expect(pods?.kind).toBe('Headless');
    const t = translate(m, proxy('proxyless', loc('r1', 'z1')));
    expect(t.resources.endpoint.map((r) => r.name)).toContain('outbound|9090||pods.shop.svc.cluster.local');
  });

  it('is not locality-aware when the policy says false', () => {
    const m = model({ localityAware: false });
    expect(translate(m, proxy('sidecar', loc('r1', 'z1'))).resources.endpoint).toEqual(translate(m, proxy('sidecar')).resources.endpoint);
    for (const target of ['sidecar', 'proxyless'] as const) {
      expect(
        flat(translate(m, proxy(target)).diagnostics).filter((e) => e.field?.startsWith('spec.loadBalancing.') && e.field !== 'spec.loadBalancing.algorithm'),
      ).toEqual([]);
    }
  });

  it.each([
    ['r1', { region: 'r1' }],
    ['r1/z1', { region: 'r1', zone: 'z1' }],
    ['r1/z1/s1', undefined],
    ['/z1', undefined],
    ['r1/', undefined],
    ['', undefined],
  ])('parsePlace(%j)', (text, expected) => {
    expect(parsePlace(text)).toEqual(expected);
  });
});
