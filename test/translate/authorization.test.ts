/**
 * Authorization translated (src/translate/authorization.ts, filters/authorization.ts): the RBAC
 * rules a workload port enforces, where they sit (HTTP filters DENY then ALLOW before the router;
 * network filters before tcp_proxy; proxyless servers' connection managers), and the edges: an
 * ALLOW none of whose rules applies to the port still refuses everything, a DENY that does not
 * apply is left out, `to.ports` picks the workload ports, PathPrefix keeps to whole segments, a `*`
 * identity is a prefix, an entry's identities AND namespaces. Every message is checked against
 * Envoy's own rules, inside the packed Anys.
 */
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import type { ModelAuthorization, ModelService, ModelWorkload } from '../../src/model/types.ts';
import type { AuthorizationRule } from '../../src/policy/schema.ts';
import { inbound } from '../../src/translate/listeners-inbound.ts';
import { proxylessServerListeners } from '../../src/translate/proxyless-server.ts';
import { modelOf, port, service, workload } from './model-fixtures.ts';
import { networkFilters } from './sidecar-helpers.ts';

type Json = Record<string, unknown>;
const TD = 'cluster.local';
const LISTENER = 'envoy.config.listener.v3.Listener';

const authz = (name: string, action: 'ALLOW' | 'DENY', rules: AuthorizationRule[]): ModelAuthorization => ({
  policy: { kind: 'TrafficPolicy', namespace: 'shop', name },
  action,
  rules,
});

/** shop/web: http 80 → 8080 and tcp 5432, each port with these authorizations; its pod web-0 serves both. */
function mesh(on80: ModelAuthorization[], on5432: ModelAuthorization[] = on80): { services: ModelService[]; pod: ModelWorkload } {
  const web = service('shop', 'web', {
    clusterIP: '10.96.0.10',
    ports: [
      { ...port('http', 80, 'http', [], 8080), ...(on80.length ? { authorization: on80 } : {}) },
      { ...port('tcp-db', 5432, 'tcp'), ...(on5432.length ? { authorization: on5432 } : {}) },
    ],
  });
  const pod = workload(
    'shop',
    'web-0',
    '10.0.0.1',
    [
      { name: 'http', port: 8080, protocol: 'http' },
      { name: 'tcp-db', port: 5432, protocol: 'tcp' },
    ],
    ['shop/web'],
  );
  return { services: [web], pod };
}

function chain(services: ModelService[], pod: ModelWorkload, n: number) {
  const t = inbound(pod, services, { trustDomain: TD });
  const issues = [...checkFields(LISTENER, t.listener.message), ...validateMessage(LISTENER, t.listener.message)];
  expect(issues).toEqual([]);
  const c = t.listener.message.filter_chains?.find((fc) => fc.filter_chain_match?.destination_port?.value === n);
  return { t, filters: networkFilters(c) };
}

/** The HTTP filters of port 8080's connection manager: name and rules. */
function httpRbac(services: ModelService[], pod: ModelWorkload): { name: unknown; rules?: unknown }[] {
  const hcm = chain(services, pod, 8080).filters[0] as { http_filters: { name: string; typed_config: Json }[] };
  return hcm.http_filters.map((f) => ({ name: f.name, ...(f.typed_config.rules ? { rules: f.typed_config.rules } : {}) }));
}

const ROUTER = { name: 'envoy.filters.http.router' };
const ANY = [{ any: true }];

describe('on an HTTP port', () => {
  it('DENY then ALLOW before the router, each rule a policy named after its TrafficPolicy', () => {
    const { services, pod } = mesh([
      authz('allow-shop', 'ALLOW', [{ from: [{ namespaces: ['shop'] }] }]),
      authz('deny-batch', 'DENY', [{ from: [{ namespaces: ['batch'] }] }]),
    ]);
    expect(httpRbac(services, pod)).toEqual([
      {
        name: 'envoy.filters.http.rbac.deny',
        rules: {
          action: 'DENY',
          policies: {
            'shop/deny-batch/rules[0]': {
              permissions: ANY,
              principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/batch/' } } }],
            },
          },
        },
      },
      {
        name: 'envoy.filters.http.rbac.allow',
        rules: {
          action: 'ALLOW',
          policies: {
            'shop/allow-shop/rules[0]': {
              permissions: ANY,
              principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }],
            },
          },
        },
      },
      ROUTER,
    ]);
  });

  it('an ALLOW none of whose rules applies to the port still refuses everything there; a DENY that does not apply is left out', () => {
    const { services, pod } = mesh([
      authz('allow', 'ALLOW', [{ from: [{ namespaces: ['shop'] }], to: [{ ports: [5432] }] }]),
      authz('deny', 'DENY', [{ to: [{ ports: [5432] }] }]),
    ]);
    expect(httpRbac(services, pod)).toEqual([{ name: 'envoy.filters.http.rbac.allow', rules: { action: 'ALLOW', policies: {} } }, ROUTER]);
  });

  it('an entry’s identities AND its namespaces, values OR’ed; a trailing * is a prefix; paths as whole segments; methods', () => {
    const rule: AuthorizationRule = {
      from: [{ identities: ['spiffe://cluster.local/ns/ops/sa/a', 'spiffe://cluster.local/ns/ops/sa/batch-*'], namespaces: ['ops'] }],
      to: [
        {
          paths: [
            { type: 'PathPrefix', value: '/' },
            { type: 'PathPrefix', value: '/api/' },
          ],
          methods: ['GET'],
        },
      ],
    };
    const [filter] = httpRbac(...(Object.values(mesh([authz('p', 'ALLOW', [rule])])) as [ModelService[], ModelWorkload]));
    expect((filter?.rules as { policies: Json }).policies['shop/p/rules[0]']).toEqual({
      permissions: [
        {
          and_rules: {
            rules: [
              {
                or_rules: {
                  rules: [{ url_path: { path: { prefix: '/' } } }, { url_path: { path: { exact: '/api' } } }, { url_path: { path: { prefix: '/api/' } } }],
                },
              },
              { header: { name: ':method', string_match: { exact: 'GET' } } },
            ],
          },
        },
      ],
      principals: [
        {
          and_ids: {
            ids: [
              {
                or_ids: {
                  ids: [
                    { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/ops/sa/a' } } },
                    { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/ops/sa/batch-' } } },
                  ],
                },
              },
              { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/ops/' } } },
            ],
          },
        },
      ],
    });
  });

  it('normalizes paths (dot segments, repeated slashes) where a rule matches paths, and only there', () => {
    const paths = mesh([authz('p', 'DENY', [{ to: [{ paths: [{ type: 'Exact', value: '/admin' }], ports: [80] }] }])]);
    expect(chain(paths.services, paths.pod, 8080).filters[0]).toMatchObject({ normalize_path: { value: true }, merge_slashes: true });
    const callers = mesh([authz('p', 'DENY', [{ from: [{ namespaces: ['batch'] }] }])]);
    expect(chain(callers.services, callers.pod, 8080).filters[0]).not.toHaveProperty('normalize_path');
  });

  it('without authorization: no RBAC filter, nothing else changed, and the policies are no sources', () => {
    const { services, pod } = mesh([]);
    expect(httpRbac(services, pod)).toEqual([ROUTER]);
    expect(chain(services, pod, 5432).filters.map((f) => f.name)).toEqual(['envoy.filters.network.tcp_proxy']);
  });

  it('the listener’s sources name every policy whose authorization applies to one of its ports', () => {
    const { services, pod } = mesh([authz('a', 'ALLOW', [{}])], [authz('b', 'DENY', [{ from: [{ namespaces: ['x'] }] }])]);
    expect(chain(services, pod, 8080).t.listener.sources?.map((s) => s.name)).toEqual(['web-0', 'a', 'b']);
  });
});

describe('on a TCP port', () => {
  it('RBAC network filters, DENY then ALLOW, before tcp_proxy', () => {
    const { services, pod } = mesh(
      [],
      [authz('allow', 'ALLOW', [{ from: [{ identities: ['spiffe://cluster.local/ns/pay/sa/pay'] }] }]), authz('deny', 'DENY', [{}])],
    );
    expect(chain(services, pod, 5432).filters).toEqual([
      {
        name: 'envoy.filters.network.rbac.deny',
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
        rules: { action: 'DENY', policies: { 'shop/deny/rules[0]': { permissions: ANY, principals: ANY } } },
        stat_prefix: 'inbound_5432_deny',
      },
      {
        name: 'envoy.filters.network.rbac.allow',
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
        rules: {
          action: 'ALLOW',
          policies: {
            'shop/allow/rules[0]': { permissions: ANY, principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/pay/sa/pay' } } }] },
          },
        },
        stat_prefix: 'inbound_5432_allow',
      },
      {
        name: 'envoy.filters.network.tcp_proxy',
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        stat_prefix: 'inbound|5432||',
        cluster: 'inbound|5432||',
      },
    ]);
  });

  it('paths or methods that reach a port handled as TCP (declared both ways): a DENY refuses the whole port, an ALLOW leaves the entry out; errors', () => {
    const paths = { to: [{ paths: [{ type: 'Exact' as const, value: '/x' }] }] };
    // web's port 80 targets 8080, which the pod declares as TCP: the model's check (on service ports) cannot see it.
    const { services } = mesh([authz('allow', 'ALLOW', [paths]), authz('deny', 'DENY', [paths])], []);
    const tcpPod = workload('shop', 'web-0', '10.0.0.1', [{ name: 'tcp', port: 8080, protocol: 'tcp' }], ['shop/web']);
    const { t, filters } = chain(services, tcpPod, 8080);
    expect(filters.map((f) => [f.name, (f.rules as { policies: Json } | undefined)?.policies])).toEqual([
      ['envoy.filters.network.rbac.deny', { 'shop/deny/rules[0]': { permissions: ANY, principals: ANY } }],
      ['envoy.filters.network.rbac.allow', {}],
      ['envoy.filters.network.tcp_proxy', undefined],
    ]);
    expect(t.errors.map((e) => [e.object?.name, e.field, e.message])).toEqual([
      [
        'deny',
        'spec.authorization.rules[0].to[0]',
        'port 8080 of Pod shop/web-0 is handled as TCP: paths and methods cannot be matched there, and the entry refuses every request to the port',
      ],
      [
        'allow',
        'spec.authorization.rules[0].to[0]',
        'port 8080 of Pod shop/web-0 is handled as TCP: paths and methods cannot be matched there, and the entry is left out',
      ],
    ]);
  });
});

describe('on a proxyless gRPC server', () => {
  it('the same HTTP filters in its listener’s connection manager, before the router; the policies among its sources', () => {
    const greeter = service('apps', 'greeter', {
      clusterIP: '10.96.3.10',
      ports: [
        {
          ...port('grpc', 50051, 'grpc', [
            {
              address: '10.3.0.1',
              port: 50051,
              ready: true,
              locality: { region: '', zone: '', subZone: '' },
              source: { kind: 'EndpointSlice', namespace: 'apps', name: 'g' },
            },
          ]),
          mtls: 'STRICT',
          authorization: [authz('callers', 'ALLOW', [{ from: [{ namespaces: ['apps'] }] }])],
        },
      ],
    });
    const m = { ...modelOf([greeter]), mtls: { defaultMode: 'STRICT' as const } };
    const { listeners, notes } = proxylessServerListeners(m, 'apps');
    expect(notes).toEqual([]);
    const [l] = listeners;
    expect(l?.sources?.map((s) => `${s.kind} ${s.name}`)).toEqual(['EndpointSlice g', 'Service greeter', 'TrafficPolicy callers']);
    const hcm = l?.message.filter_chains?.[0]?.filters?.[0]?.typed_config as unknown as { http_filters: { name: string }[] };
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac.allow', 'envoy.filters.http.router']);
    expect([...checkFields(LISTENER, l?.message), ...validateMessage(LISTENER, l?.message ?? {})]).toEqual([]);
  });
});

describe('Envoy’s rules are checked inside the packed RBAC', () => {
  it('a policy without permissions would be refused (so golden-valid would catch one)', () => {
    const bad = {
      name: 'x',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.rbac.allow',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
                stat_prefix: 's',
                rules: { action: 'ALLOW', policies: { p: { permissions: [], principals: ANY } } },
              },
            },
          ],
        },
      ],
    };
    expect(validateMessage(LISTENER, bad).map((i) => i.field)).toEqual([expect.stringContaining('permissions')]);
  });
});
