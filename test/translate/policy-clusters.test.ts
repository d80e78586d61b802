/**
 * The cluster-level sections of TrafficPolicy (loadBalancing.algorithm, connectionPool,
 * outlierDetection, timeouts.connect and timeouts.idle) on the outbound clusters of Envoy sidecars
 * and proxyless gRPC clients: each setting, what proxyless gRPC lacks (notes on the policy), and
 * that every cluster passes Envoy's own rules.
 *
 * Models are built by buildModel from manifest-like objects, so that policies attach and merge
 * (and record each field's origin) as they do in a running Trellis.
 */
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import type { Cluster } from '../../src/envoy/generated/envoy/config/cluster/v3/Cluster.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { buildModel } from '../../src/model/build.ts';
import { serviceSchema, trafficPolicyInputSchema, type MeshInputs } from '../../src/model/inputs.ts';
import type { MeshModel } from '../../src/model/types.ts';
import { edsCluster, outboundServiceCluster } from '../../src/translate/clusters.ts';
import { withClusterPolicy } from '../../src/translate/policy/cluster.ts';
import { durationNanos, protoDuration } from '../../src/translate/policy/duration.ts';
import type { PortContext } from '../../src/translate/policy/types.ts';
import { proxylessOutbound } from '../../src/translate/proxyless-outbound.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import type { Diagnostic as TranslationError } from '../../src/diagnostics.ts';
import { flat, type FlatDiagnostic } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const UPSTREAM_HTTP = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const POLICY = 'TrafficPolicy shop/p';

type Spec = Record<string, unknown>;

function svc(name: string, spec: Record<string, unknown>): MeshInputs['services'][number] {
  return { object: serviceSchema.parse({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec }), origin: {} };
}

/** shop/web: http 80, http2 8081, grpc 50051, tcp 5432; shop/pods: headless; shop/ext: ExternalName. */
const SERVICES = [
  svc('web', {
    clusterIP: '10.96.0.10',
    ports: [
      { name: 'http', port: 80 },
      { name: 'http2-api', port: 8081 },
      { name: 'rpc', port: 50051, appProtocol: 'grpc' },
      { name: 'tcp-db', port: 5432 },
    ],
  }),
  svc('pods', {
    clusterIP: 'None',
    ports: [
      { name: 'http', port: 8080 },
      { name: 'grpc', port: 9090 },
    ],
  }),
  svc('ext', {
    type: 'ExternalName',
    externalName: 'api.example.com',
    ports: [
      { name: 'http', port: 80 },
      { name: 'grpc', port: 443 },
    ],
  }),
];

function policy(name: string, spec: Spec, created = '2024-01-01T00:00:00Z', target = 'web'): MeshInputs['trafficPolicies'][number] {
  return {
    object: trafficPolicyInputSchema.parse({
      apiVersion: 'trellis.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name, namespace: 'shop', creationTimestamp: created },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: target }], ...spec },
    }),
    origin: {},
  };
}

function model(policies: MeshInputs['trafficPolicies']): MeshModel {
  const m = buildModel({ namespaces: [], nodes: [], services: SERVICES, endpointSlices: [], pods: [], trafficPolicies: policies });
  const rejected = m.policies.filter((p) => p.conditions.some((c) => c.reason === 'Invalid'));
  expect(rejected.map((p) => p.conditions)).toEqual([]);
  return m;
}

interface Built {
  cluster: Cluster;
  errors: FlatDiagnostic[];
}

/** The outbound cluster of `service:port` as a sidecar or a proxyless client gets it. */
function clusterOf(m: MeshModel, target: 'sidecar' | 'proxyless', port: number, service = 'web'): Built {
  const s = m.services.find((x) => x.name === service);
  const p = s?.ports.find((x) => x.port === port);
  if (!s || !p) throw new Error(`no ${service}:${port}`);
  if (target === 'sidecar') {
    const errors: TranslationError[] = [];
    const cluster = outboundServiceCluster(s, p, errors)?.message;
    if (!cluster) throw new Error('no cluster');
    return { cluster, errors: flat(errors) };
  }
  const out = proxylessOutbound([{ ...s, ports: [p] }]);
  const found = out.ports.find((x) => x.port.port === port);
  if (!found) throw new Error(`no proxyless ${service}:${port}`);
  return { cluster: found.cluster.message, errors: flat(out.errors) };
}

function withPolicy(spec: Spec, target: 'sidecar' | 'proxyless', port: number, service = 'web'): Built {
  return clusterOf(model([policy('p', spec, undefined, service)]), target, port, service);
}

function pick(c: Cluster, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (c as Record<string, unknown>)[k]]));
}

function omit(c: Cluster, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k)));
}

function expectValid(c: Cluster): void {
  expect(checkFields(CLUSTER, c)).toEqual([]);
  expect(validateMessage(CLUSTER, c)).toEqual([]);
}

const u32 = (value: number) => ({ value });
const http = (common: Record<string, unknown>, version: 'http_protocol_options' | 'http2_protocol_options') => ({
  [UPSTREAM_HTTP]: { '@type': `type.googleapis.com/${UPSTREAM_HTTP}`, explicit_http_config: { [version]: {} }, common_http_protocol_options: common },
});
const RING = { hash_function: 'XX_HASH', minimum_ring_size: { value: 1024 } } as const;
const HASH = { header: { name: 'x-user' } };

type Row = [title: string, spec: Spec, port: number, expected: Partial<Cluster>];

const SIDECAR: Row[] = [
  ['roundRobin', { loadBalancing: { algorithm: 'roundRobin' } }, 80, { lb_policy: 'ROUND_ROBIN' }],
  ['leastRequest', { loadBalancing: { algorithm: 'leastRequest' } }, 80, { lb_policy: 'LEAST_REQUEST' }],
  ['random', { loadBalancing: { algorithm: 'random' } }, 80, { lb_policy: 'RANDOM' }],
  ['ringHash', { loadBalancing: { algorithm: 'ringHash', hash: HASH } }, 80, { lb_policy: 'RING_HASH', ring_hash_lb_config: RING }],
  ['maglev', { loadBalancing: { algorithm: 'maglev', hash: { sourceIP: true } } }, 80, { lb_policy: 'MAGLEV' }],
  [
    'localityAware and failover leave the cluster alone (they shape its endpoints)',
    { loadBalancing: { algorithm: 'random', localityAware: true, failover: [{ from: 'eu', to: 'us' }] } },
    80,
    { lb_policy: 'RANDOM' },
  ],
  [
    'connectionPool, every limit',
    { connectionPool: { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 0 } },
    80,
    {
      circuit_breakers: {
        thresholds: [{ priority: 'DEFAULT', max_connections: u32(10), max_pending_requests: u32(20), max_requests: u32(30), max_retries: u32(0) }],
      },
    },
  ],
  [
    'connectionPool, one limit',
    { connectionPool: { maxPendingRequests: 5 } },
    80,
    { circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_pending_requests: u32(5) }] } },
  ],
  [
    'consecutive5xx',
    { outlierDetection: { consecutive5xx: 3 } },
    80,
    { outlier_detection: { consecutive_5xx: u32(3), enforcing_consecutive_5xx: u32(100), enforcing_success_rate: u32(0) } },
  ],
  [
    'consecutiveGatewayErrors (Envoy does not enforce it by default)',
    { outlierDetection: { consecutiveGatewayErrors: 4 } },
    80,
    {
      outlier_detection: {
        enforcing_consecutive_5xx: u32(0),
        consecutive_gateway_failure: u32(4),
        enforcing_consecutive_gateway_failure: u32(100),
        enforcing_success_rate: u32(0),
      },
    },
  ],
  [
    'consecutive5xx 0 (off)',
    { outlierDetection: { consecutive5xx: 0, interval: '5s' } },
    80,
    { outlier_detection: { enforcing_consecutive_5xx: u32(0), interval: { seconds: 5 }, enforcing_success_rate: u32(0) } },
  ],
  [
    'interval, baseEjectionTime, maxEjectionPercent',
    { outlierDetection: { consecutive5xx: 5, interval: '1.5s', baseEjectionTime: '1m30s', maxEjectionPercent: 50 } },
    80,
    {
      outlier_detection: {
        consecutive_5xx: u32(5),
        enforcing_consecutive_5xx: u32(100),
        interval: { seconds: 1, nanos: 500_000_000 },
        base_ejection_time: { seconds: 90 },
        max_ejection_percent: u32(50),
        enforcing_success_rate: u32(0),
      },
    },
  ],
  [
    'failurePercentage',
    { outlierDetection: { failurePercentage: { threshold: 30, minimumHosts: 2, requestVolume: 10 } } },
    80,
    {
      outlier_detection: {
        enforcing_consecutive_5xx: u32(0),
        enforcing_failure_percentage: u32(100),
        failure_percentage_threshold: u32(30),
        failure_percentage_minimum_hosts: u32(2),
        failure_percentage_request_volume: u32(10),
        enforcing_success_rate: u32(0),
      },
    },
  ],
  ['timeouts.connect', { timeouts: { connect: '250ms' } }, 80, { connect_timeout: { seconds: 0, nanos: 250_000_000 } }],
  [
    'timeouts.idle, HTTP/1 port',
    { timeouts: { idle: '5m' } },
    80,
    { typed_extension_protocol_options: http({ idle_timeout: { seconds: 300 } }, 'http_protocol_options') },
  ],
  [
    'timeouts.idle, HTTP/2 port: merged with HTTP/2',
    { timeouts: { idle: '30s' } },
    8081,
    { typed_extension_protocol_options: http({ idle_timeout: { seconds: 30 } }, 'http2_protocol_options') },
  ],
  [
    'timeouts.idle, gRPC port: merged with HTTP/2',
    { timeouts: { idle: '30s' } },
    50051,
    { typed_extension_protocol_options: http({ idle_timeout: { seconds: 30 } }, 'http2_protocol_options') },
  ],
  [
    'timeouts.idle 0 (disabled)',
    { timeouts: { idle: '0s' } },
    80,
    { typed_extension_protocol_options: http({ idle_timeout: { seconds: 0 } }, 'http_protocol_options') },
  ],
  ['timeouts.idle, TCP port (tcp_proxy: not a cluster setting)', { timeouts: { idle: '30s' } }, 5432, {}],
  ['route-level sections only', { retries: { attempts: 2 }, timeouts: { request: '3s' } }, 80, {}],
];

describe('TrafficPolicy on sidecar clusters', () => {
  it.each(SIDECAR)('%s', (_title, spec, port, expected) => {
    const base = clusterOf(model([]), 'sidecar', port).cluster;
    const { cluster, errors } = withPolicy(spec, 'sidecar', port);
    const keys = Object.keys(expected);
    expect(pick(cluster, keys)).toEqual(expected);
    expect(omit(cluster, keys)).toEqual(omit(base, keys));
    expect(errors).toEqual([]);
    expectValid(cluster);
  });

  it('keeps the HTTP/2 option as it was on ports without an idle timeout', () => {
    const { cluster } = withPolicy({ timeouts: { connect: '1s' } }, 'sidecar', 8081);
    expect(cluster.typed_extension_protocol_options).toBe(clusterOf(model([]), 'sidecar', 8081).cluster.typed_extension_protocol_options);
  });

  it.each([
    ['Headless', 'pods', 8080, 'ORIGINAL_DST'],
    ['ExternalName', 'ext', 80, 'STRICT_DNS'],
  ])('applies to %s services too', (_kind, service, port, type) => {
    const { cluster } = withPolicy(
      { connectionPool: { maxRequests: 7 }, outlierDetection: { consecutive5xx: 2 }, timeouts: { connect: '2s', idle: '1m' } },
      'sidecar',
      port,
      service,
    );
    expect(cluster.type).toBe(type);
    expect(cluster.circuit_breakers).toEqual({ thresholds: [{ priority: 'DEFAULT', max_requests: u32(7) }] });
    expect(cluster.outlier_detection?.consecutive_5xx).toEqual(u32(2));
    expect(cluster.connect_timeout).toEqual({ seconds: 2 });
    expect(cluster.typed_extension_protocol_options).toEqual(http({ idle_timeout: { seconds: 60 } }, 'http_protocol_options'));
    expectValid(cluster);
  });

  it('leaves a headless cluster its CLUSTER_PROVIDED balancing, with a note', () => {
    const { cluster, errors } = withPolicy({ loadBalancing: { algorithm: 'ringHash', hash: HASH } }, 'sidecar', 8080, 'pods');
    expect(cluster.lb_policy).toBe('CLUSTER_PROVIDED');
    expect(cluster.ring_hash_lb_config).toBeUndefined();
    expect(errors).toEqual([
      {
        object: POLICY,
        field: 'spec.loadBalancing.algorithm',
        message: expect.stringMatching(/Service shop\/pods is headless.*ringHash algorithm does not apply/),
        severity: 'warning',
      },
    ]);
    expectValid(cluster);
  });
});

type ProxylessRow = [title: string, spec: Spec, expected: Partial<Cluster>, notes: [field: string, message: RegExp][]];

const NOT_IMPLEMENTED = /^proxyless gRPC does not implement /;

const PROXYLESS: ProxylessRow[] = [
  ['roundRobin', { loadBalancing: { algorithm: 'roundRobin' } }, { lb_policy: 'ROUND_ROBIN' }, []],
  ['ringHash', { loadBalancing: { algorithm: 'ringHash', hash: HASH } }, { lb_policy: 'RING_HASH', ring_hash_lb_config: RING }, []],
  ...(['leastRequest', 'random', 'maglev'] as const).map((algorithm): ProxylessRow => [
    `${algorithm}: round robin instead`,
    { loadBalancing: { algorithm, ...(algorithm === 'maglev' ? { hash: HASH } : {}) } },
    { lb_policy: 'ROUND_ROBIN', ring_hash_lb_config: undefined },
    [['spec.loadBalancing.algorithm', new RegExp(`does not implement the ${algorithm} algorithm.*: round robin is used$`)]],
  ]),
  [
    'connectionPool: maxRequests only',
    { connectionPool: { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 1 } },
    { circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: u32(30) }] } },
    [
      ['spec.connectionPool.maxConnections', /only connectionPool.maxRequests/],
      ['spec.connectionPool.maxPendingRequests', /only connectionPool.maxRequests/],
      ['spec.connectionPool.maxRetries', /only connectionPool.maxRequests/],
    ],
  ],
  [
    'connectionPool without maxRequests',
    { connectionPool: { maxConnections: 10 } },
    { circuit_breakers: undefined },
    [['spec.connectionPool.maxConnections', /left out/]],
  ],
  [
    'outlierDetection: no consecutive-error ejection',
    { outlierDetection: { consecutive5xx: 3, consecutiveGatewayErrors: 2, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 20 } },
    { outlier_detection: { interval: { seconds: 10 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: u32(20), enforcing_success_rate: u32(0) } },
    [
      ['spec.outlierDetection.consecutive5xx', /gRFC A50.*use outlierDetection.failurePercentage$/],
      ['spec.outlierDetection.consecutiveGatewayErrors', /gRFC A50.*use outlierDetection.failurePercentage$/],
    ],
  ],
  [
    'outlierDetection: failurePercentage',
    { outlierDetection: { failurePercentage: { threshold: 25, minimumHosts: 3, requestVolume: 20 } } },
    {
      outlier_detection: {
        enforcing_failure_percentage: u32(100),
        failure_percentage_threshold: u32(25),
        failure_percentage_minimum_hosts: u32(3),
        failure_percentage_request_volume: u32(20),
        enforcing_success_rate: u32(0),
      },
    },
    [],
  ],
  [
    'timeouts.connect: set, but gRPC ignores it',
    { timeouts: { connect: '3s' } },
    { connect_timeout: { seconds: 3 } },
    [['spec.timeouts.connect', /has no effect$/]],
  ],
  ['timeouts.idle', { timeouts: { idle: '30s' } }, { typed_extension_protocol_options: undefined }, [['spec.timeouts.idle', /left out$/]]],
];

describe('TrafficPolicy on proxyless gRPC clusters', () => {
  it.each(PROXYLESS)('%s', (_title, spec, expected, notes) => {
    const base = clusterOf(model([]), 'proxyless', 50051).cluster;
    const { cluster, errors } = withPolicy(spec, 'proxyless', 50051);
    const keys = Object.keys(expected);
    expect(pick(cluster, keys)).toEqual(expected);
    expect(omit(cluster, keys)).toEqual(omit(base, keys));
    expect(errors.map((e) => [e.object, e.field])).toEqual(notes.map(([field]) => [POLICY, field]));
    errors.forEach((e, i) => {
      expect(e.message).toMatch(NOT_IMPLEMENTED);
      expect(e.message).toMatch(notes[i]?.[1] ?? /never/);
    });
    expectValid(cluster);
  });

  it('balances an ExternalName (LOGICAL_DNS) cluster the way gRPC can', () => {
    const { cluster, errors } = withPolicy({ loadBalancing: { algorithm: 'leastRequest' }, connectionPool: { maxRequests: 4 } }, 'proxyless', 443, 'ext');
    expect(cluster.type).toBe('LOGICAL_DNS');
    expect(cluster.lb_policy).toBe('ROUND_ROBIN');
    expect(cluster.circuit_breakers).toEqual({ thresholds: [{ priority: 'DEFAULT', max_requests: u32(4) }] });
    expect(errors.map((e) => e.field)).toEqual(['spec.loadBalancing.algorithm']);
    expectValid(cluster);
  });

  it('balances a headless service (EDS for gRPC) as the policy says', () => {
    const { cluster, errors } = withPolicy({ loadBalancing: { algorithm: 'ringHash', hash: HASH } }, 'proxyless', 9090, 'pods');
    expect([cluster.type, cluster.lb_policy, cluster.ring_hash_lb_config]).toEqual(['EDS', 'RING_HASH', RING]);
    expect(errors).toEqual([]);
  });

  it('reports the notes of a translation on the policy each field came from', () => {
    const m = model([
      policy('older', { loadBalancing: { algorithm: 'maglev', hash: HASH } }, '2024-01-01T00:00:00Z'),
      policy('younger', { loadBalancing: { algorithm: 'random' }, connectionPool: { maxRetries: 2 } }, '2024-02-01T00:00:00Z'),
    ]);
    const t = translateProxyless(m, { mode: 'proxyless', namespace: 'shop' });
    const cluster = t.resources.cluster.find((r) => r.name === 'outbound|50051||web.shop.svc.cluster.local');
    expect(cluster?.sources?.map(formatRef)).toEqual(['Service shop/web', 'TrafficPolicy shop/older', 'TrafficPolicy shop/younger']);
    expect(
      flat(t.diagnostics)
        .filter((e) => e.object?.startsWith('TrafficPolicy'))
        .map((e) => [e.object, e.field]),
    ).toEqual([
      ['TrafficPolicy shop/older', 'spec.loadBalancing.algorithm'],
      ['TrafficPolicy shop/younger', 'spec.connectionPool.maxRetries'],
    ]);
  });
});

describe('values Envoy would reject', () => {
  it.each<[string, Spec, number, Partial<Cluster>, string]>([
    ['connect 0s: the default stays', { timeouts: { connect: '0s' } }, 80, { connect_timeout: { seconds: 10 } }, 'spec.timeouts.connect'],
    [
      'interval 0s: left out',
      { outlierDetection: { interval: '0ms', consecutive5xx: 1 } },
      80,
      { outlier_detection: { consecutive_5xx: u32(1), enforcing_consecutive_5xx: u32(100), enforcing_success_rate: u32(0) } },
      'spec.outlierDetection.interval',
    ],
    [
      'baseEjectionTime 0s: left out',
      { outlierDetection: { baseEjectionTime: '0s' } },
      80,
      { outlier_detection: { enforcing_consecutive_5xx: u32(0), enforcing_success_rate: u32(0) } },
      'spec.outlierDetection.baseEjectionTime',
    ],
    ['a duration longer than protobuf allows', { timeouts: { connect: '99999999999999h' } }, 80, { connect_timeout: { seconds: 10 } }, 'spec.timeouts.connect'],
    [
      'maxEjectionPercent 12.5 → 12',
      { outlierDetection: { maxEjectionPercent: 12.5 } },
      80,
      { outlier_detection: { enforcing_consecutive_5xx: u32(0), max_ejection_percent: u32(12), enforcing_success_rate: u32(0) } },
      'spec.outlierDetection.maxEjectionPercent',
    ],
    [
      'failurePercentage.threshold 12.5 → 13',
      { outlierDetection: { failurePercentage: { threshold: 12.5 } } },
      80,
      {
        outlier_detection: {
          enforcing_consecutive_5xx: u32(0),
          enforcing_failure_percentage: u32(100),
          failure_percentage_threshold: u32(13),
          enforcing_success_rate: u32(0),
        },
      },
      'spec.outlierDetection.failurePercentage.threshold',
    ],
  ])('%s', (_title, spec, port, expected, field) => {
    const { cluster, errors } = withPolicy(spec, 'sidecar', port);
    expect(pick(cluster, Object.keys(expected))).toEqual(expected);
    expect(errors.map((e) => [e.object, e.field])).toEqual([[POLICY, field]]);
    expectValid(cluster);
  });
});

describe('withClusterPolicy', () => {
  const m = model([policy('p', { retries: { attempts: 1 } })]);
  const web = m.services.find((s) => s.name === 'web');
  const port = web?.ports.find((p) => p.port === 80);

  it.each(['sidecar', 'proxyless'] as const)('returns the very same cluster when nothing applies (%s)', (target) => {
    if (!web || !port) throw new Error('no web:80');
    const cluster = edsCluster('c', 'http');
    const noPolicy: PortContext = { service: web, port: { ...port, policy: undefined }, target };
    const routesOnly: PortContext = { service: web, port, target };
    const errors: TranslationError[] = [];
    expect(withClusterPolicy(cluster, noPolicy, errors)).toBe(cluster);
    expect(withClusterPolicy(cluster, routesOnly, errors)).toBe(cluster);
    expect(errors).toEqual([]);
  });

  it('does not change the cluster it is given', () => {
    if (!web || !port) throw new Error('no web:80');
    const cluster = edsCluster('c', 'http2');
    const copy = structuredClone(cluster);
    const policyPort = model([
      policy('p', { loadBalancing: { algorithm: 'maglev', hash: HASH }, timeouts: { idle: '1s' }, outlierDetection: { consecutive5xx: 1 } }),
    ])
      .services.find((s) => s.name === 'web')
      ?.ports.find((p) => p.port === 80);
    if (!policyPort) throw new Error('no web:80');
    const out = withClusterPolicy(cluster, { service: web, port: policyPort, target: 'sidecar' }, []);
    expect(out).not.toBe(cluster);
    expect(cluster).toEqual(copy);
  });
});

describe('policy durations as google.protobuf.Duration', () => {
  it.each([
    ['250ms', { seconds: 0, nanos: 250_000_000 }],
    ['1.5s', { seconds: 1, nanos: 500_000_000 }],
    ['1.1s', { seconds: 1, nanos: 100_000_000 }],
    ['1m30s', { seconds: 90 }],
    ['2h', { seconds: 7200 }],
    ['1h30m15.25s', { seconds: 5415, nanos: 250_000_000 }],
    ['0.5ms', { seconds: 0, nanos: 500_000 }],
    ['0.0000000001s', { seconds: 0 }],
    ['0s', { seconds: 0 }],
    ['87660000h', { seconds: 315_576_000_000 }],
    ['87660001h', undefined],
    ['5', undefined],
    ['1d', undefined],
    ['', undefined],
  ])('%s → %j', (text, expected) => {
    expect(protoDuration(text)).toEqual(expected);
  });

  it.each([
    ['1m30.5s', 90_500_000_000n],
    ['1.000000001s', 1_000_000_001n],
    ['abc', undefined],
  ])('%s is %s ns', (text, nanos) => {
    expect(durationNanos(text)).toBe(nanos);
  });
});
