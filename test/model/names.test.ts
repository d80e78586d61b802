/**
 * Kubernetes' name rules, as the input schemas apply them: each rule on the values Kubernetes' own
 * validation admits and refuses, each checked field of each kind, and both sources treating an object
 * that breaks one as they treat any invalid object (an error on that object and field; its last good
 * version kept).
 */
import { describe, expect, it } from 'vitest';
import { dns1035Label, dns1123Label, dns1123Subdomain, ianaSvcName, labelValue, qualifiedName } from '../../src/model/names.ts';
import { INPUT_KINDS, type InputKindKey } from '../../src/model/inputs.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { SERVICES } from '../../src/sources/kube/kinds.ts';
import { ObjectCache } from '../../src/sources/kube/store.ts';

const long = (n: number, c = 'a') => c.repeat(n);

describe.each([
  ['DNS-1123 label', dns1123Label, ['a', '0', 'a-b', '1-2', 'abc-123', long(63)], ['', 'A', '-a', 'a-', 'a.b', 'a_b', 'a b', 'bad\nname', long(64)]],
  ['DNS-1035 label', dns1035Label, ['a', 'a-b', 'a1', long(63)], ['', '1a', '9lives', '-a', 'a-', 'A', 'a.b', long(64)]],
  [
    'DNS-1123 subdomain',
    dns1123Subdomain,
    ['a', 'a.b', 'a-b.c-d', '0.1', `${long(63)}.${long(63)}`, long(253)],
    ['', 'a..b', '.a', 'a.', 'A.b', 'a_b', 'a/b', long(254)],
  ],
  [
    'qualified name (label key)',
    qualifiedName,
    ['a', 'A', 'a_b', 'a.b', 'a-b', 'app.kubernetes.io/name', 'kubernetes.io/service-name', 'x/Y_z', long(63)],
    ['', '/a', 'a/', 'a/b/c', '-a', 'a-', '_a', 'a b', 'Example.com/a', 'a..b/c', long(64), `${long(254)}/a`],
  ],
  ['label value', labelValue, ['', 'a', 'A', 'v1.2', 'a_b-c', long(63)], ['-a', 'a-', '.a', 'a b', 'a/b', 'bad\nvalue', long(64)]],
  ['IANA service name', ianaSvcName, ['http', 'h2c', 'grpc-web', 'a1', long(15)], ['', '80', 'HTTP', '-http', 'http-', 'a--b', 'a_b', long(16)]],
])('%s', (_, rule, good, bad) => {
  it.each(good)('admits %j', (value) => expect(rule(value)).toBeUndefined());
  it.each(bad)('refuses %j', (value) => expect(rule(value)).toEqual(expect.any(String)));
});

/** A minimal valid object of each kind, and a change to one field that breaks it. */
const valid: Record<InputKindKey, Record<string, unknown>> = {
  'v1/Namespace': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  'v1/Node': { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1.example' } },
  'v1/Service': { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }] } },
  'discovery.k8s.io/v1/EndpointSlice': {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'shop' },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
    ports: [{ name: 'http', port: 8080 }],
  },
  'v1/Pod': { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [{ name: 'app' }] } },
  'trellis.dev/v1alpha1/TrafficPolicy': { apiVersion: 'trellis.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: {} },
};

const ALL_KINDS = Object.keys(valid) as InputKindKey[];
const NAMESPACED = ALL_KINDS.filter((k) => k !== 'v1/Namespace' && k !== 'v1/Node');

/** `[kind, field path, bad value]`: setting that field to that value makes the object invalid, at that field. */
const broken: [InputKindKey, string, unknown][] = [
  ...ALL_KINDS.map((k): [InputKindKey, string, unknown] => [k, 'metadata.name', 'bad\nname']),
  ...NAMESPACED.map((k): [InputKindKey, string, unknown] => [k, 'metadata.namespace', 'Shop']),
  ...NAMESPACED.map((k): [InputKindKey, string, unknown] => [k, 'metadata.labels', { 'a b': 'x' }]),
  ...NAMESPACED.map((k): [InputKindKey, string, unknown] => [k, 'metadata.labels', { app: 'has space' }]),
  ['v1/Service', 'metadata.name', '9lives'],
  ['v1/Namespace', 'metadata.name', 'my.ns'],
  ['v1/Node', 'metadata.labels', { 'topology.kubernetes.io/zone': 'zone a' }],
  ['v1/Service', 'spec.selector', { app: '-web' }],
  ['v1/Service', 'spec.ports', [{ name: 'HTTP', port: 80 }]],
  ['v1/Service', 'spec.ports', [{ name: 'http', port: 80, targetPort: 'http--alt' }]],
  ['v1/Service', 'spec.ports', [{ name: 'http', port: 80, appProtocol: 'a b' }]],
  ['v1/Service', 'spec.externalName', 'db..example.com'],
  ['v1/Service', 'spec.ports', [{ name: 'http', port: 80 }, { port: 81 }]],
  [
    'v1/Service',
    'spec.ports',
    [
      { name: 'http', port: 80 },
      { name: 'http', port: 81 },
    ],
  ],
  ['discovery.k8s.io/v1/EndpointSlice', 'ports', [{ name: 'http_2', port: 80 }]],
  ['discovery.k8s.io/v1/EndpointSlice', 'endpoints', [{ addresses: ['10.0.0.1'], hostname: 'a.b' }]],
  ['discovery.k8s.io/v1/EndpointSlice', 'endpoints', [{ addresses: ['10.0.0.1'], nodeName: 'Node 1' }]],
  ['v1/Pod', 'spec.serviceAccountName', 'web sa'],
  ['v1/Pod', 'spec.nodeName', 'node/1'],
  ['v1/Pod', 'spec.containers', [{ name: 'App' }]],
  ['v1/Pod', 'spec.containers', [{ name: 'app', ports: [{ name: 'metrics-endpoint', containerPort: 9090 }] }]],
];

function withField(object: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (head === undefined) return object;
  const inner = (object[head] ?? {}) as Record<string, unknown>;
  return { ...object, [head]: rest.length === 0 ? value : withField(inner, rest.join('.'), value) };
}

describe('the input schemas', () => {
  it.each(ALL_KINDS)('admit a valid %s', (kind) => {
    expect(INPUT_KINDS[kind].schema.safeParse(valid[kind]).success).toBe(true);
  });

  it.each(broken)('refuse a %s whose %s is %j, at that field', (kind, path, value) => {
    const result = INPUT_KINDS[kind].schema.safeParse(withField(valid[kind], path, value));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}\\b`));
  });
});

const service = (label: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop, labels: { app: ${JSON.stringify(label)} } }\nspec: { ports: [{ name: http, port: 80 }] }\n`;

describe('both sources, on an object whose new version breaks a name rule', () => {
  it('manifests: an error on the object and field; its last good version keeps serving, the others are untouched', () => {
    const other = 'apiVersion: v1\nkind: Service\nmetadata: { name: api, namespace: shop }\nspec: { ports: [{ name: http, port: 80 }] }\n';
    const first = parseManifests([{ path: 'web.yaml', text: service('web') }]);
    const next = parseManifests(
      [
        { path: 'web.yaml', text: service('web\n') },
        { path: 'api.yaml', text: other },
      ],
      first.state,
    );
    expect(next.errors.map((e) => [e.object, e.field])).toEqual([[{ kind: 'Service', namespace: 'shop', name: 'web' }, 'metadata.labels.app']]);
    expect(next.inputs.services.map((s) => [s.object.metadata.name, s.object.metadata.labels])).toEqual([
      ['api', {}],
      ['web', { app: 'web' }],
    ]);
  });

  it('the API server: the same error, and the last good version kept', () => {
    const cache = new ObjectCache(SERVICES);
    const raw = (label: string, rv: string) => ({ metadata: { name: 'web', namespace: 'shop', labels: { app: label }, resourceVersion: rv }, spec: {} });
    cache.upsert(raw('web', '1'));
    expect(cache.upsert(raw('web\n', '2'))).toBe(true);
    const [entry] = cache.values();
    expect(entry?.value).toMatchObject({ metadata: { labels: { app: 'web' }, resourceVersion: '1' } });
    expect(entry?.problems.map((p) => [p.severity, p.field])).toEqual([
      ['error', 'metadata.labels.app'],
      ['warning', undefined],
    ]);
  });
});
