/**
 * The route-level sections of TrafficPolicy (routing, retries, request and per-try timeouts, hash
 * key) as routes, for Envoy sidecars and proxyless gRPC: each setting, the notes for what gRPC lacks,
 * and the validity of everything emitted (Envoy's PGV rules; the rules grpc-js-xds 1.14 NACKs on).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFields, encodeMessage } from '../../src/envoy/codec.ts';
import type { Route } from '../../src/envoy/generated/envoy/config/route/v3/Route.ts';
import { messageNameOf, TypeUrl, type ResourceKind } from '../../src/envoy/types.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { buildModel } from '../../src/model/build.ts';
import type { ModelEndpoint, ModelService } from '../../src/model/types.ts';
import { mergePolicies } from '../../src/policy/merge.ts';
import type { PolicySettings } from '../../src/policy/schema.ts';
import { validateSpec } from '../../src/policy/validate.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { indexOf } from '../../src/translate/policy/mesh-index.ts';
import { serviceRoutes } from '../../src/translate/policy/routes.ts';
import type { ProxyTarget, RouteContext } from '../../src/translate/policy/types.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import type { Diagnostic as TranslationError } from '../../src/diagnostics.ts';
import { locality, modelOf, port, service, workload } from './model-fixtures.ts';
import { names, resource } from './sidecar-helpers.ts';
import { flat, type FlatDiagnostic } from '../support/diagnostics.ts';
import { ref } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';
import { resolveRoutes } from '../../src/model/references.ts';
import { checkPolicies } from '../../src/model/policy-checks.ts';

const POLICY = 'TrafficPolicy shop/p';
const WEB = 'web.shop.svc.cluster.local';
const OWN = `outbound|80||${WEB}`;

function ep(address: string, pod: string): ModelEndpoint {
  return { address, port: 8080, ready: true, locality: locality('zone-a'), pod: `shop/${pod}`, source: ref('EndpointSlice shop/web-1') };
}

function services(): ModelService[] {
  return [
    service('shop', 'web', {
      clusterIP: '10.96.1.1',
      ports: [port('http', 80, 'http', [ep('10.1.0.1', 'web-v1'), ep('10.1.0.2', 'web-v2')], 8080), port('admin', 8080, 'http'), port('tcp', 9000, 'tcp')],
    }),
    service('shop', 'other', { clusterIP: '10.96.1.2', ports: [port('http', 80, 'http')] }),
    service('shop', 'pods', { kind: 'Headless', ports: [port('http', 80, 'http')] }),
  ];
}

function workloads() {
  return ['v1', 'v2'].map((v) => ({ ...workload('shop', `web-${v}`, v === 'v1' ? '10.1.0.1' : '10.1.0.2', []), labels: { app: 'web', version: v } }));
}

/**
 * The web service with `settings` (validated as a TrafficPolicy would be) on port 80, its routes
 * resolved and checked as the model does; `problems`: what did not resolve or cannot be used, as diagnostics.
 */
function resolved(settings: PolicySettings): { services: ModelService[]; problems: FlatDiagnostic[] } {
  const result = validateSpec({ targetRefs: [{ group: '', kind: 'Service', name: 'web', port: 80 }], ...settings });
  if (!result.ok) throw new Error(`invalid test policy: ${JSON.stringify(result.errors)}`);
  const { targetRefs: _t, ...valid } = result.spec;
  const policy = mergePolicies([{ ref: ref(POLICY), settings: valid }]).merged;
  const all = services();
  const index = {
    services: new Map(all.map((s) => [`${s.namespace}/${s.name}`, s])),
    podLabels: new Map(workloads().map((w) => [`${w.namespace}/${w.name}`, w.labels])),
  };
  const problems: FlatDiagnostic[] = [];
  const withRoutes = all.map((s) => {
    if (s.name !== 'web') return s;
    return {
      ...s,
      ports: s.ports.map((p) => {
        if (p.port !== 80) return p;
        const r = resolveRoutes(s, p, policy, index);
        problems.push(
          ...[...r.problems, ...checkPolicies([s], (_s, x) => (x.port === 80 ? policy : undefined))].map((x) => ({
            object: formatRef(x.policy),
            field: x.field,
            message: x.message,
            ...(x.severity === 'warning' ? { severity: 'warning' as const } : {}),
          })),
        );
        return { ...p, policy, routes: r.rules };
      }),
    };
  });
  return { services: withRoutes, problems };
}

function withPolicy(settings: PolicySettings): ModelService[] {
  return resolved(settings).services;
}

/** The routes of web:80; `errors`: the model's problems with them, then translation's. */
function routesOf(settings: PolicySettings, target: ProxyTarget): { routes: Route[]; errors: FlatDiagnostic[] } {
  const { services: all, problems } = resolved(settings);
  const web = all.find((s) => s.name === 'web');
  const p = web?.ports.find((x) => x.port === 80);
  if (!web || !p) throw new Error('no web:80');
  const ctx: RouteContext = { service: web, port: p, target, mesh: indexOf(all) };
  const errors: TranslationError[] = [];
  const routes = serviceRoutes(ctx, errors);
  expectValid(routes, target);
  return { routes, errors: [...problems, ...flat(errors)] };
}

/** What grpc-js-xds 1.14 (route-config-resource-type.js) NACKs a route for. */
function grpcProblems(r: Route): string[] {
  const out: string[] = [];
  const m = r.match ?? {};
  const paths = (['prefix', 'path', 'safe_regex'] as const).filter((k) => m[k] !== undefined);
  if (paths.length !== 1 || m.path_separated_prefix !== undefined) out.push('path specifier');
  if (!r.route || r.redirect) out.push('action');
  const retry = r.route?.retry_policy;
  if (retry && (retry.num_retries?.value ?? 1) < 1) out.push('num_retries');
  const base = retry?.retry_back_off?.base_interval;
  if (retry?.retry_back_off && (!base || Number(base.seconds ?? 0) * 1000 + (base.nanos ?? 0) / 1e6 < 1)) out.push('base_interval');
  const weights = r.route?.weighted_clusters?.clusters?.reduce((n, c) => n + (c.weight?.value ?? 0), 0);
  if (weights === 0) out.push('weights');
  return out;
}

function expectValid(routes: Route[], target: ProxyTarget): void {
  const rc = { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes }] };
  expect(checkFields('envoy.config.route.v3.RouteConfiguration', rc)).toEqual([]);
  expect(validateMessage('envoy.config.route.v3.RouteConfiguration', rc)).toEqual([]);
  if (target === 'proxyless') expect(routes.flatMap(grpcProblems)).toEqual([]);
}

const DEFAULT_SIDECAR: Route = { match: { prefix: '/' }, route: { cluster: OWN, timeout: { seconds: 0 } } };
const rule = (r: object): PolicySettings => ({ routing: { http: [r] } });

describe('routing.http matches, sidecar', () => {
  it.each([
    ['an exact path', { path: { type: 'Exact', value: '/a' } }, { path: '/a' }],
    ['a path prefix, Gateway API semantics', { path: { type: 'PathPrefix', value: '/api/' } }, { path_separated_prefix: '/api' }],
    ['a regular expression', { path: { type: 'RegularExpression', value: '/v[0-9]+/.*' } }, { safe_regex: { regex: '/v[0-9]+/.*' } }],
    [
      'headers, lowercased',
      {
        headers: [
          { name: 'X-User', value: 'a' },
          { name: 'x-v', type: 'RegularExpression', value: 'v.*' },
        ],
      },
      {
        prefix: '/',
        headers: [
          { name: 'x-user', string_match: { exact: 'a' } },
          { name: 'x-v', string_match: { safe_regex: { regex: 'v.*' } } },
        ],
      },
    ],
    [
      'query parameters',
      { queryParams: [{ name: 'debug', value: '1' }] },
      { prefix: '/', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] },
    ],
    [
      'an empty value, by an empty expression',
      { headers: [{ name: 'x-e', type: 'RegularExpression', value: '' }] },
      { prefix: '/', headers: [{ name: 'x-e', string_match: { exact: '' } }] },
    ],
    ['the method', { method: 'PUT' }, { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'PUT' } }] }],
  ])('%s', (_label, match, expected) => {
    const { routes, errors } = routesOf(rule({ matches: [match], backends: [{ service: 'other' }] }), 'sidecar');
    expect(routes).toEqual([
      { name: 'http[0]', match: expected, route: { cluster: 'outbound|80||other.shop.svc.cluster.local', timeout: { seconds: 0 } } },
      DEFAULT_SIDECAR,
    ]);
    expect(errors).toEqual([]);
  });

  it('gives each entry of matches its own route, in order, and drops the default route after a match-all', () => {
    const { routes } = routesOf(
      { routing: { http: [{ matches: [{ path: { type: 'Exact', value: '/a' } }, { method: 'GET' }] }, { name: 'rest' }] } },
      'sidecar',
    );
    expect(routes.map((r) => [r.name, r.match])).toEqual([
      ['http[0].matches[0]', { path: '/a' }],
      ['http[0].matches[1]', { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'GET' } }] }],
      ['rest', { prefix: '/' }],
    ]);
  });

  it("leaves out a prefix Envoy would refuse ('?' or '#')", () => {
    const { routes, errors } = routesOf(rule({ matches: [{ path: { type: 'PathPrefix', value: '/a?b' } }] }), 'sidecar');
    expect(routes).toEqual([DEFAULT_SIDECAR]);
    expect(errors).toEqual([{ object: POLICY, field: 'spec.routing.http[0].matches[0].path.value', message: expect.stringContaining("'?'") }]);
  });
});

describe('routing.http matches, proxyless', () => {
  it.each([
    [
      'a path prefix: the path itself and what lies under it',
      { path: { type: 'PathPrefix', value: '/pkg.Svc' } },
      [{ path: '/pkg.Svc' }, { prefix: '/pkg.Svc/' }],
    ],
    ['POST, which every call is', { method: 'POST', path: { type: 'Exact', value: '/pkg.Svc/M' } }, [{ path: '/pkg.Svc/M' }]],
  ])('%s', (_label, match, expected) => {
    const { routes, errors } = routesOf(rule({ matches: [match] }), 'proxyless');
    expect(routes.map((r) => r.match)).toEqual([...expected, { prefix: '' }]);
    expect(errors).toEqual([]);
  });

  it.each([
    ['query parameters', { queryParams: [{ name: 'a', value: 'b' }] }, 'queryParams'],
    ['a method other than POST', { method: 'GET' }, 'method'],
  ])('leaves out a match on %s, which never holds for gRPC', (_label, match, field) => {
    const { routes, errors } = routesOf(rule({ matches: [match] }), 'proxyless');
    expect(routes).toEqual([{ match: { prefix: '' }, route: { cluster: OWN } }]);
    expect(errors).toEqual([
      {
        object: POLICY,
        field: `spec.routing.http[0].matches[0].${field}`,
        message: expect.stringContaining('proxyless gRPC does not implement'),
        severity: 'warning',
      },
    ]);
  });
});

describe('routing.http backends', () => {
  it.each<[string, object[], object]>([
    ['one backend: its cluster', [{ service: 'other' }], { cluster: 'outbound|80||other.shop.svc.cluster.local' }],
    [
      'weighted, duplicates merged, weight 0 left out',
      [{ weight: 80 }, { service: 'other', weight: 20 }, { weight: 5 }, { port: 8080, weight: 0 }],
      {
        weighted_clusters: {
          clusters: [
            { name: OWN, weight: { value: 85 } },
            { name: 'outbound|80||other.shop.svc.cluster.local', weight: { value: 20 } },
          ],
        },
      },
    ],
    ['a subset: its own cluster', [{ subset: { labels: { version: 'v2' } } }], { cluster: `outbound|80|version=v2|${WEB}` }],
  ])('%s', (_label, backends, destination) => {
    for (const target of ['sidecar', 'proxyless'] as const) {
      const { routes, errors } = routesOf(rule({ backends }), target);
      expect(routes).toEqual([
        {
          name: 'http[0]',
          match: { prefix: target === 'sidecar' ? '/' : '' },
          route: { ...destination, ...(target === 'sidecar' ? { timeout: { seconds: 0 } } : {}) },
        },
      ]);
      expect(errors).toEqual([]);
    }
  });

  it.each([
    ['a missing service', { service: 'nope' }, 'spec.routing.http[0].backends[1].service', 'Service shop/nope not found'],
    ['a missing port', { port: 81 }, 'spec.routing.http[0].backends[1].port', 'has no port 81'],
    ['a TCP port', { port: 9000 }, 'spec.routing.http[0].backends[1].port', 'TCP port'],
  ])('leaves out %s, with an error on the policy from the model', (_label, bad, field, message) => {
    const { routes, errors } = routesOf(rule({ backends: [{ service: 'other' }, bad] }), 'sidecar');
    expect(routes[0]?.route?.cluster).toBe('outbound|80||other.shop.svc.cluster.local');
    expect(errors).toEqual([{ object: POLICY, field, message: expect.stringContaining(message) }]);
  });

  it('lists the ports a service has when a backend names one it lacks', () => {
    const { errors } = routesOf(rule({ backends: [{ port: 5051 }] }), 'sidecar');
    expect(errors[0]?.message).toBe('Service shop/web has no port 5051: it has 80 (http), 8080 (admin), 9000 (tcp); left out');
  });

  it('leaves out a subset of a headless service for sidecars only, with a warning from the model', () => {
    const backends = [{ service: 'other' }, { service: 'pods', subset: { labels: { a: 'b' } } }];
    const sidecar = routesOf(rule({ backends }), 'sidecar');
    expect(sidecar.routes[0]?.route?.cluster).toBe('outbound|80||other.shop.svc.cluster.local');
    expect(sidecar.errors).toContainEqual({
      object: POLICY,
      field: 'spec.routing.http[0].backends[1].subset',
      message: expect.stringContaining('Headless'),
      severity: 'warning',
    });
    const proxyless = routesOf(rule({ backends }), 'proxyless');
    expect(proxyless.routes[0]?.route?.weighted_clusters?.clusters?.map((c) => c.name)).toEqual([
      'outbound|80||other.shop.svc.cluster.local',
      'outbound|80|a=b|pods.shop.svc.cluster.local',
    ]);
  });

  it('leaves out a route none of whose backends exists, and keeps the default route', () => {
    const { routes, errors } = routesOf(rule({ matches: [{ path: { type: 'Exact', value: '/x' } }], backends: [{ service: 'nope' }] }), 'sidecar');
    expect(routes).toEqual([DEFAULT_SIDECAR]);
    expect(errors.map((e) => e.field)).toEqual(['spec.routing.http[0].backends[0].service', 'spec.routing.http[0].backends']);
  });
});

describe('redirect, rewrite, headers, mirror', () => {
  const prefix = (value: string) => ({ matches: [{ path: { type: 'PathPrefix', value } }] });
  it.each<[string, object, Partial<Route>]>([
    [
      'a redirect (302 by default)',
      { redirect: { scheme: 'https', port: 443 } },
      { redirect: { scheme_redirect: 'https', port_redirect: 443, response_code: 'FOUND' } },
    ],
    [
      'a redirect with its status',
      { redirect: { hostname: 'a.example', path: '/b', statusCode: 308 } },
      { redirect: { host_redirect: 'a.example', path_redirect: '/b', response_code: 'PERMANENT_REDIRECT' } },
    ],
  ])('%s', (_label, r, expected) => {
    const { routes } = routesOf(rule(r), 'sidecar');
    expect(routes).toEqual([{ name: 'http[0]', match: { prefix: '/' }, ...expected }]);
  });

  it.each<[string, object, object]>([
    [
      'ReplaceFullPath',
      { rewrite: { path: { type: 'ReplaceFullPath', value: '/new' } } },
      { regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: '/new' } },
    ],
    ['ReplacePrefixMatch', { ...prefix('/old/'), rewrite: { path: { type: 'ReplacePrefixMatch', value: '/new/' } } }, { prefix_rewrite: '/new' }],
    [
      'ReplacePrefixMatch to /',
      { ...prefix('/a.b'), rewrite: { path: { type: 'ReplacePrefixMatch', value: '/' } } },
      { regex_rewrite: { pattern: { regex: '^/a\\.b/*' }, substitution: '/' } },
    ],
    ['ReplacePrefixMatch of /', { ...prefix('/'), rewrite: { path: { type: 'ReplacePrefixMatch', value: '/v2' } } }, { prefix_rewrite: '/v2/' }],
    ['the host', { rewrite: { hostname: 'b.example' } }, { host_rewrite_literal: 'b.example' }],
    [
      'a mirror of 12.5%',
      { mirror: { service: 'other', percent: 12.5 } },
      {
        request_mirror_policies: [
          { cluster: 'outbound|80||other.shop.svc.cluster.local', runtime_fraction: { default_value: { numerator: 1250, denominator: 'TEN_THOUSAND' } } },
        ],
      },
    ],
  ])('rewrites: %s', (_label, r, expected) => {
    const { routes, errors } = routesOf(rule(r), 'sidecar');
    expect(routes[0]?.route).toEqual({ cluster: OWN, timeout: { seconds: 0 }, ...expected });
    expect(errors).toEqual([]);
  });

  it('sets, adds and removes headers, with literal % and without host', () => {
    const changes = {
      set: [
        { name: 'x-a', value: '50%' },
        { name: 'Host', value: 'h' },
      ],
      add: [{ name: 'x-b', value: 'b' }],
      remove: ['x-c'],
    };
    const { routes, errors } = routesOf(rule({ requestHeaders: changes, responseHeaders: { remove: ['server'] } }), 'sidecar');
    expect(routes[0]).toMatchObject({
      request_headers_to_add: [
        { header: { key: 'x-a', value: '50%%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { header: { key: 'x-b', value: 'b' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      ],
      request_headers_to_remove: ['x-c'],
      response_headers_to_remove: ['server'],
    });
    expect(errors).toEqual([{ object: POLICY, field: 'spec.routing.http[0].requestHeaders.set[1].name', message: expect.stringContaining('host') }]);
  });

  it('leaves out a route whose values Envoy would reject', () => {
    const { routes, errors } = routesOf(
      rule({ matches: [{ path: { type: 'Exact', value: '/x' } }], requestHeaders: { set: [{ name: 'x-a', value: 'a\nb' }] } }),
      'sidecar',
    );
    expect(routes).toEqual([DEFAULT_SIDECAR]);
    expect(errors).toEqual([{ object: POLICY, field: 'spec.routing.http[0]', message: expect.stringContaining('Envoy would reject') }]);
  });

  it.each([
    ['redirect', { redirect: { scheme: 'https' } }, 0],
    ['rewrite', { matches: [{ path: { type: 'Exact', value: '/x' } }], rewrite: { hostname: 'b.example' } }, 1],
    ['requestHeaders', { matches: [{ path: { type: 'Exact', value: '/x' } }], requestHeaders: { remove: ['x'] } }, 1],
    ['responseHeaders', { matches: [{ path: { type: 'Exact', value: '/x' } }], responseHeaders: { remove: ['x'] } }, 1],
    ['mirror', { matches: [{ path: { type: 'Exact', value: '/x' } }], mirror: { service: 'other', percent: 5 } }, 1],
  ])('proxyless: leaves out %s, with a note', (field, r, policyRoutes) => {
    const { routes, errors } = routesOf(rule(r), 'proxyless');
    expect(routes).toHaveLength(policyRoutes + 1);
    expect(routes[0]?.route?.cluster).toBe(OWN);
    expect(errors).toEqual([
      { object: POLICY, field: `spec.routing.http[0].${field}`, message: expect.stringContaining('proxyless gRPC does not implement'), severity: 'warning' },
    ]);
  });
});

describe('retries and timeouts', () => {
  const retries: PolicySettings['retries'] = {
    attempts: 3,
    retryOn: ['5xx', 'unavailable', 'retriable-status-codes'],
    retriableStatusCodes: [503],
    perTryTimeout: '250ms',
    backoff: { base: '100ms', max: '1.5s' },
  };
  it.each<[string, PolicySettings, object, string[]]>([
    [
      'retries',
      { retries },
      {
        timeout: { seconds: 0 },
        retry_policy: {
          retry_on: '5xx,unavailable,retriable-status-codes',
          num_retries: { value: 3 },
          per_try_timeout: { seconds: 0, nanos: 250_000_000 },
          retry_back_off: { base_interval: { seconds: 0, nanos: 100_000_000 }, max_interval: { seconds: 1, nanos: 500_000_000 } },
          retriable_status_codes: [503],
        },
      },
      [],
    ],
    [
      'retries without retryOn',
      { retries: { attempts: 2 } },
      { timeout: { seconds: 0 }, retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled', num_retries: { value: 2 } } },
      [],
    ],
    ['a request timeout', { timeouts: { request: '2s' } }, { timeout: { seconds: 2 } }, []],
    [
      'a per-try timeout alone: one try, bounded',
      { timeouts: { perTry: '1s' } },
      { timeout: { seconds: 0 }, retry_policy: { num_retries: { value: 0 }, per_try_timeout: { seconds: 1 } } },
      [],
    ],
    [
      'both per-try timeouts: retries wins',
      { retries: { attempts: 1, retryOn: ['reset'], perTryTimeout: '1s' }, timeouts: { perTry: '2s' } },
      { timeout: { seconds: 0 }, retry_policy: { retry_on: 'reset', num_retries: { value: 1 }, per_try_timeout: { seconds: 1 } } },
      ['spec.timeouts.perTry'],
    ],
  ])('sidecar: %s', (_label, settings, action, notes) => {
    const { routes, errors } = routesOf(settings, 'sidecar');
    expect(routes).toEqual([{ match: { prefix: '/' }, route: { cluster: OWN, ...action } }]);
    expect(errors.map((e) => e.field)).toEqual(notes);
  });

  it.each<[string, PolicySettings, object, string[]]>([
    [
      'retries: gRPC conditions only, back-off max ≥ 1s left out',
      { retries },
      { retry_policy: { retry_on: 'unavailable', num_retries: { value: 3 }, retry_back_off: { base_interval: { seconds: 0, nanos: 100_000_000 } } } },
      ['spec.retries.backoff.max', 'spec.retries.perTryTimeout', 'spec.retries.retryOn'],
    ],
    ['no gRPC condition: no retry policy', { retries: { attempts: 2, retryOn: ['5xx'] } }, {}, ['spec.retries.retryOn']],
    ['attempts 0: no retry policy (gRPC NACKs num_retries 0)', { retries: { attempts: 0, retryOn: ['unavailable'] } }, {}, []],
    [
      'more attempts than gRPC makes',
      { retries: { attempts: 7, retryOn: ['cancelled'] } },
      { retry_policy: { retry_on: 'cancelled', num_retries: { value: 7 } } },
      ['spec.retries.attempts'],
    ],
    [
      'a back-off base ≥ 1s, misread by grpc-js-xds',
      { retries: { attempts: 1, backoff: { base: '1s' } } },
      { retry_policy: { retry_on: 'unavailable,cancelled', num_retries: { value: 1 } } },
      ['spec.retries.backoff'],
    ],
    [
      'a back-off base under 1ms',
      { retries: { attempts: 1, backoff: { base: '0.5ms' } } },
      { retry_policy: { retry_on: 'unavailable,cancelled', num_retries: { value: 1 } } },
      ['spec.retries.backoff'],
    ],
    [
      'a request timeout',
      { timeouts: { request: '1.5s', perTry: '1s' } },
      { max_stream_duration: { max_stream_duration: { seconds: 1, nanos: 500_000_000 } } },
      ['spec.timeouts.perTry'],
    ],
  ])('proxyless: %s', (_label, settings, action, notes) => {
    const { routes, errors } = routesOf(settings, 'proxyless');
    expect(routes).toEqual([{ match: { prefix: '' }, route: { cluster: OWN, ...action } }]);
    expect(errors.map((e) => e.field).sort()).toEqual(notes);
    for (const e of errors) expect(e.object).toBe(POLICY);
  });

  it('sidecar: a back-off Envoy would refuse (0) is left out with a note', () => {
    const { routes, errors } = routesOf({ retries: { attempts: 1, backoff: { base: '0s' } } }, 'sidecar');
    expect(routes[0]?.route?.retry_policy?.retry_back_off).toBeUndefined();
    expect(errors.map((e) => e.field)).toEqual(['spec.retries.backoff']);
  });

  it('puts the settings on every forwarding route', () => {
    const { routes } = routesOf(
      { timeouts: { request: '3s' }, routing: { http: [{ matches: [{ path: { type: 'Exact', value: '/x' } }], backends: [{ service: 'other' }] }] } },
      'sidecar',
    );
    expect(routes.map((r) => r.route?.timeout)).toEqual([{ seconds: 3 }, { seconds: 3 }]);
  });
});

describe('loadBalancing.hash', () => {
  const lb = (hash: object): PolicySettings => ({ loadBalancing: { algorithm: 'ringHash', hash } as never });
  it.each<[string, object, ProxyTarget, object[] | undefined, string[]]>([
    ['a header, sidecar', { header: { name: 'X-User' } }, 'sidecar', [{ header: { header_name: 'x-user' } }], []],
    ['a header, proxyless', { header: { name: 'x-user' } }, 'proxyless', [{ header: { header_name: 'x-user' } }], []],
    ['a cookie, sidecar', { cookie: { name: 'c', ttl: '1h', path: '/' } }, 'sidecar', [{ cookie: { name: 'c', ttl: { seconds: 3600 }, path: '/' } }], []],
    ['the source IP, sidecar', { sourceIP: true }, 'sidecar', [{ connection_properties: { source_ip: true } }], []],
    ['a cookie, proxyless: noted', { cookie: { name: 'c' } }, 'proxyless', undefined, ['spec.loadBalancing.hash']],
    ['the source IP, proxyless: noted', { sourceIP: true }, 'proxyless', undefined, ['spec.loadBalancing.hash']],
  ])('%s', (_label, hash, target, expected, notes) => {
    const { routes, errors } = routesOf(lb(hash), target);
    expect(routes[0]?.route?.hash_policy).toEqual(expected);
    expect(errors.map((e) => e.field)).toEqual(notes);
  });
});

describe('subset clusters in the translation', () => {
  const model = () =>
    modelOf(
      withPolicy(
        rule({ backends: [{ weight: 9 }, { subset: { labels: { version: 'v2' } }, weight: 1 }, { service: 'other', subset: { labels: { version: 'v9' } } }] }),
      ),
      workloads(),
    );
  const SUBSET = `outbound|80|version=v2|${WEB}`;

  it.each([
    ['sidecar', (m: ReturnType<typeof model>) => translateSidecar(m, { mode: 'sidecar', namespace: 'shop', pod: 'web-v1' })],
    ['proxyless', (m: ReturnType<typeof model>) => translateProxyless(m, { mode: 'proxyless', namespace: 'shop' })],
  ])('%s: a cluster and endpoints per subset, the pods with the labels only', (_label, translate) => {
    const t = translate(model());
    expect(names(t, 'cluster')).toContain(SUBSET);
    const cla = resource(t, 'endpoint', SUBSET);
    expect(cla.endpoints?.flatMap((l) => l.lb_endpoints?.map((e) => e.endpoint?.address?.socket_address?.address))).toEqual(['10.1.0.2']);
    expect(t.resources.endpoint.find((e) => e.name === SUBSET)?.sources?.map(formatRef)).toEqual(['EndpointSlice shop/web-1', 'Service shop/web', POLICY]);
    expect(resolved(rule({ backends: [{ service: 'other', subset: { labels: { version: 'v9' } } }] })).problems).toEqual([
      { object: POLICY, field: 'spec.routing.http[0].backends[0].subset', message: expect.stringContaining('the subset has no endpoints') },
    ]);
  });

  it('names a subset whose labels are long by a hash', () => {
    const labels = { 'app.kubernetes.io/version': 'a-very-long-version-string-0001', track: 'canary-with-a-long-name' };
    const { routes } = routesOf(rule({ backends: [{ subset: { labels } }] }), 'sidecar');
    expect(routes[0]?.route?.cluster).toMatch(new RegExp(`^outbound\\|80\\|h-[0-9a-f]{16}\\|${WEB}$`));
  });
});

describe('the golden case policy-routing encodes as Envoy accepts it', () => {
  const KINDS: ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route'];
  const golden = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'golden/policy-routing/input.yaml'), 'utf8');
  const model = () => buildModel(parseManifests([{ path: 'input.yaml', text: golden }]).inputs);

  it.each([
    ['sidecar', (m: ReturnType<typeof model>) => translateSidecar(m, { mode: 'sidecar', namespace: 'shop', pod: 'frontend-1' })],
    ['proxyless', (m: ReturnType<typeof model>) => translateProxyless(m, { mode: 'proxyless', namespace: 'shop' })],
  ])('%s', (target, translate) => {
    const t = translate(model());
    for (const kind of KINDS) {
      for (const r of t.resources[kind]) expect(() => encodeMessage(messageNameOf(TypeUrl[kind]), r.message), `${kind} ${r.name}`).not.toThrow();
    }
    const routes = t.resources.route.flatMap((r) => (r.message.virtual_hosts ?? []).flatMap((v) => v.routes ?? []));
    expect(routes.length).toBeGreaterThan(10);
    if (target === 'proxyless') expect(routes.flatMap(grpcProblems)).toEqual([]);
  });
});
