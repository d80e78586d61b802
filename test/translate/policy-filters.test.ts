/**
 * TrafficPolicy fault injection, local rate limiting and observability: which connection managers
 * get which filters (sidecar outbound and inbound, proxyless clients and servers), the settings on
 * virtual hosts and routes, the notes for what proxyless gRPC lacks, and that all of it is valid
 * for Envoy (field names and PGV rules) and parses in grpc-js-xds as intended.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkFields, encodeMessage } from '../../src/envoy/codec.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import type { ModelService, ModelServicePort } from '../../src/model/types.ts';
import { mergePolicies } from '../../src/policy/merge.ts';
import type { HttpRouteRule, PolicySettings } from '../../src/policy/schema.ts';
import { HTTP_FILTERS, httpFilters, routeFilterConfigs, virtualHostFilterConfigs } from '../../src/translate/filters/index.ts';
import { fractionalPercent } from '../../src/translate/filters/percent.ts';
import { inbound } from '../../src/translate/listeners-inbound.ts';
import { apiListener } from '../../src/translate/proxyless-outbound.ts';
import { grpcServerListener } from '../../src/translate/proxyless-server.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import type { PortContext } from '../../src/translate/policy/types.ts';
import type { Diagnostic as TranslationError } from '../../src/diagnostics.ts';
import { endpoint, meshServices, meshWorkloads, modelOf, port, service, WEB_PROXY, workload } from './model-fixtures.ts';
import { connectionManagers, resource } from './sidecar-helpers.ts';
import { flat, type FlatDiagnostic } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';
import { ref as refOf } from '../support/diagnostics.ts';
import { checkPolicies } from '../../src/model/policy-checks.ts';

const P = 'TrafficPolicy default/p';
const T = 'type.googleapis.com/';
const FAULT = 'envoy.filters.http.fault';
const RATE = 'envoy.filters.http.local_ratelimit';
const ROUTER = 'envoy.filters.http.router';
const LISTENER = 'envoy.config.listener.v3.Listener';
const ALL = { numerator: 100, denominator: 'HUNDRED' };
const BUCKET = { maxTokens: 100, tokensPerFill: 10, fillInterval: '1s' };
const ENVOY_BUCKET = {
  '@type': `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  stat_prefix: 'http_local_rate_limiter',
  status: { code: 'TooManyRequests' },
  token_bucket: { max_tokens: 100, tokens_per_fill: { value: 10 }, fill_interval: { seconds: 1 } },
  filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: ALL },
  filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: ALL },
};
const API_ROUTE: HttpRouteRule = {
  name: 'api',
  matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
  rateLimit: { local: { ...BUCKET, maxTokens: 5, tokensPerFill: 5 } },
};

function withPolicy(p: ModelServicePort, settings: PolicySettings, ref = P): ModelServicePort {
  return { ...p, policy: mergePolicies([{ ref: refOf(ref), settings }]).merged };
}

/** default/web (http 80 → 8080) with the policy; the fixture mesh otherwise. */
function webWith(settings: PolicySettings): { services: ModelService[]; web: ModelService } {
  const services = meshServices().map((s) => (s.name === 'web' ? { ...s, ports: s.ports.map((p) => withPolicy(p, settings)) } : s));
  const web = services.find((s) => s.name === 'web');
  if (!web) throw new Error('no web');
  return { services, web };
}

function ctxOf(settings: PolicySettings, target: PortContext['target'] = 'sidecar'): PortContext {
  const { web } = webWith(settings);
  const p = web.ports[0];
  if (!p) throw new Error('no port');
  return { service: web, port: p, target };
}

const filterNames = (filters: readonly { name?: string }[] | undefined): (string | undefined)[] => (filters ?? []).map((f) => f.name);

/** Field names and PGV rules, for a message and every Any inside. */
function envoyIssues(typeName: string, value: object): string[] {
  return [...checkFields(typeName, value), ...validateMessage(typeName, value)].map((i) => `${i.field}: ${i.message}`);
}

describe('percentages', () => {
  it.each([
    [0, { numerator: 0, denominator: 'HUNDRED' }],
    [25, { numerator: 25, denominator: 'HUNDRED' }],
    [100, ALL],
    [0.5, { numerator: 50, denominator: 'TEN_THOUSAND' }],
    [0.07, { numerator: 7, denominator: 'TEN_THOUSAND' }],
    [12.345, { numerator: 123450, denominator: 'MILLION' }],
    [12.3456, { numerator: 123456, denominator: 'MILLION' }],
    [0.00004, { numerator: 0, denominator: 'MILLION' }],
  ])('%d%% is %j', (percent, expected) => {
    expect(fractionalPercent(percent)).toEqual(expected);
  });
});

describe('sidecar outbound connection managers', () => {
  // sourced: the policy is among the listener's sources (it decides about its filters).
  it.each<[string, PolicySettings, string[], boolean]>([
    ['no section of these', { timeouts: { request: '2s' } }, [ROUTER], false],
    ['an abort', { faultInjection: { abort: { httpStatus: 503, percent: 10 } } }, [FAULT, ROUTER], true],
    ['a delay of zero only', { faultInjection: { delay: { fixedDelay: '0s', percent: 50 } } }, [ROUTER], true],
    ['a service rate limit', { rateLimit: { local: BUCKET } }, [RATE, ROUTER], true],
    ['a route rate limit', { routing: { http: [API_ROUTE] } }, [RATE, ROUTER], true],
    ['routes without rate limits', { routing: { http: [{ name: 'all' }] } }, [ROUTER], false],
    ['a bucket Envoy refuses', { rateLimit: { local: { ...BUCKET, fillInterval: '10ms' } } }, [ROUTER], true],
    ['both', { faultInjection: { delay: { fixedDelay: '1s', percent: 1 } }, rateLimit: { local: BUCKET } }, [FAULT, RATE, ROUTER], true],
    ['observability (inbound only)', { observability: { accessLog: { enabled: true } } }, [ROUTER], false],
  ])('%s: the filters of port 80, the router alone elsewhere', (_what, settings, expected, sourced) => {
    const { services } = webWith(settings);
    const t = translateSidecar(modelOf(services, meshWorkloads()), WEB_PROXY);
    const managers = new Map(connectionManagers(t.resources.listener).map((m) => [m.at, m.hcm]));
    expect(filterNames(managers.get('0.0.0.0_80/')?.http_filters as { name: string }[])).toEqual(expected);
    for (const other of ['0.0.0.0_50051/', '0.0.0.0_8081/', 'virtualInbound/inbound|8080||'])
      expect(filterNames(managers.get(other)?.http_filters as { name: string }[])).toEqual([ROUTER]);
    const listener = resource(t, 'listener', '0.0.0.0_80');
    expect(envoyIssues(LISTENER, listener)).toEqual([]);
    expect(
      t.resources.listener
        .find((l) => l.name === '0.0.0.0_80')
        ?.sources?.map(formatRef)
        .includes(P),
    ).toBe(sourced);
  });

  it('puts the filters there with no settings of their own: nothing is injected or limited', () => {
    const filters = httpFilters({
      direction: 'outbound',
      port: 80,
      services: [ctxOf({ faultInjection: { abort: { grpcStatus: 'UNAVAILABLE', percent: 5 } }, rateLimit: { local: BUCKET } })],
    });
    expect(filters.map((f) => ({ name: f.name, ...(f.typed_config as object) }))).toEqual([
      { name: FAULT, '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault` },
      { name: RATE, '@type': `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`, stat_prefix: 'http_local_rate_limiter' },
      { name: ROUTER, '@type': `${T}envoy.extensions.filters.http.router.v3.Router` },
    ]);
    expect(HTTP_FILTERS.map((f) => f.feature)).toEqual(['authorization-deny', 'authorization-allow', 'fault', 'local-rate-limit', 'router']);
  });
});

describe('virtual host and route settings', () => {
  const HTTP_FAULT = `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`;

  it.each<[string, PolicySettings, Record<string, unknown> | undefined]>([
    ['no section of these', { retries: { attempts: 2 } }, undefined],
    [
      'a fractional delay and a gRPC abort',
      { faultInjection: { delay: { fixedDelay: '1.5s', percent: 0.5 }, abort: { grpcStatus: 'UNAVAILABLE', percent: 25 } } },
      {
        [FAULT]: {
          '@type': HTTP_FAULT,
          delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 50, denominator: 'TEN_THOUSAND' } },
          abort: { grpc_status: 14, percentage: { numerator: 25, denominator: 'HUNDRED' } },
        },
      },
    ],
    [
      'an HTTP abort',
      { faultInjection: { abort: { httpStatus: 418, percent: 100 } } },
      { [FAULT]: { '@type': HTTP_FAULT, abort: { http_status: 418, percentage: ALL } } },
    ],
    ['a service rate limit', { rateLimit: { local: BUCKET } }, { [RATE]: ENVOY_BUCKET }],
    ['route rate limits only (they go on the routes)', { routing: { http: [API_ROUTE] } }, undefined],
  ])('%s', (_what, settings, expected) => {
    const errors: TranslationError[] = [];
    const configs = virtualHostFilterConfigs(ctxOf(settings), errors);
    expect(configs).toEqual(expected);
    expect(errors).toEqual([]);
    const vh = { name: 'x', domains: ['x'], typed_per_filter_config: configs ?? {} };
    expect(envoyIssues('envoy.config.route.v3.VirtualHost', vh)).toEqual([]);
  });

  it('gives a policy route its own bucket, which replaces the service one there', () => {
    const ctx = ctxOf({ rateLimit: { local: BUCKET }, routing: { http: [API_ROUTE, { name: 'rest' }] } });
    const configs = routeFilterConfigs(ctx, API_ROUTE);
    expect(configs).toEqual({ [RATE]: { ...ENVOY_BUCKET, token_bucket: { max_tokens: 5, tokens_per_fill: { value: 5 }, fill_interval: { seconds: 1 } } } });
    expect(routeFilterConfigs(ctx, { name: 'rest' })).toBeUndefined();
    const route = { match: { prefix: '/api' }, route: { cluster: 'c' }, typed_per_filter_config: configs };
    expect(envoyIssues('envoy.config.route.v3.Route', route)).toEqual([]);
  });

  it('leaves out buckets Envoy would refuse (fill interval under 50ms); the model reports them on the policy, with the field', () => {
    const fast = { ...BUCKET, fillInterval: '20ms' };
    const ctx = ctxOf({ rateLimit: { local: fast }, routing: { http: [{ name: 'a' }, { name: 'b', rateLimit: { local: fast } }] } });
    const errors: TranslationError[] = [];
    expect(virtualHostFilterConfigs(ctx, errors)).toBeUndefined();
    expect(routeFilterConfigs(ctx, { name: 'b', rateLimit: { local: fast } })).toBeUndefined();
    expect(errors).toEqual([]);
    const message = 'fillInterval 20ms is shorter than the 50ms Envoy accepts; requests to Service default/web:80 are not limited by it';
    expect(checkPolicies([ctx.service], (_s, p) => p.policy).map((p) => ({ object: formatRef(p.policy), field: p.field, message: p.message }))).toEqual([
      { object: P, field: 'spec.rateLimit', message },
      { object: P, field: 'spec.routing.http[1].rateLimit', message },
    ]);
  });

  it('would catch settings Envoy refuses', () => {
    const fault = { delay: { fixed_delay: { seconds: 0 }, percentage: ALL } };
    expect(envoyIssues('envoy.extensions.filters.http.fault.v3.HTTPFault', fault).length).toBeGreaterThan(0);
    expect(
      envoyIssues('envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', { stat_prefix: 'x', token_bucket: { max_tokens: 1 } }).length,
    ).toBeGreaterThan(0);
    expect(envoyIssues('envoy.extensions.filters.http.fault.v3.HTTPFault', { abort: { http_status: 503, percent: ALL } }).length).toBeGreaterThan(0);
  });
});

describe('inbound observability', () => {
  const TEXT = { text_format_source: { inline_string: expect.stringContaining('%REQ(X-REQUEST-ID)%') } };

  function inboundHcm(
    settings: PolicySettings,
    targetPort: number | string = 8080,
  ): { hcm: Record<string, unknown> | undefined; errors: readonly FlatDiagnostic[]; sources: readonly string[] } {
    const web = service('default', 'web', {
      clusterIP: '10.96.0.10',
      ports: [withPolicy(port('http', 80, 'http', [{ ...endpoint('10.0.1.1', 8080, 'zone-a'), pod: 'default/web-0' }], targetPort), settings)],
    });
    const w = workload(
      'default',
      'web-0',
      '10.0.1.1',
      [
        { name: 'http', port: 8080, protocol: 'http' },
        { name: 'tcp', port: 9090, protocol: 'tcp' },
      ],
      ['default/web'],
    );
    const result = inbound(w, [web]);
    const hcm = connectionManagers([result.listener]).find((m) => m.at === 'virtualInbound/inbound|8080||')?.hcm;
    expect(envoyIssues(LISTENER, result.listener.message)).toEqual([]);
    return { hcm, errors: flat(result.errors), sources: (result.listener.sources ?? []).map(formatRef) };
  }

  it.each<[string, PolicySettings, Record<string, unknown>]>([
    [
      'a text access log (the default format)',
      { observability: { accessLog: { enabled: true } } },
      {
        access_log: [
          { name: 'envoy.access_loggers.stdout', typed_config: { '@type': `${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`, log_format: TEXT } },
        ],
      },
    ],
    ['tracing', { observability: { tracing: { samplingPercent: 2.5 } } }, { tracing: { random_sampling: { value: 2.5 } } }],
  ])('%s on the connection manager of the port the service targets', (_what, settings, expected) => {
    const { hcm, errors, sources } = inboundHcm(settings);
    expect(hcm).toMatchObject(expected);
    expect(errors).toEqual([]);
    expect(sources).toEqual(['Pod default/web-0', P]);
  });

  it('logs JSON with the usual fields', () => {
    const { hcm } = inboundHcm({ observability: { accessLog: { enabled: true, format: 'json' } } }, 'http');
    const log = (hcm?.access_log as { typed_config: { log_format: { json_format: { fields: Record<string, { stringValue: string }> } } } }[])[0];
    const fields = log?.typed_config.log_format.json_format.fields ?? {};
    expect(Object.keys(fields)).toEqual([
      'start_time',
      'method',
      'path',
      'protocol',
      'response_code',
      'response_flags',
      'bytes_received',
      'bytes_sent',
      'duration',
      'upstream_host',
      'request_id',
      'authority',
      'user_agent',
    ]);
    expect(fields.request_id).toEqual({ stringValue: '%REQ(X-REQUEST-ID)%' });
  });

  it('changes nothing without observability, or with the log disabled', () => {
    for (const settings of [{}, { observability: { accessLog: { enabled: false } } }]) {
      const { hcm } = inboundHcm(settings);
      expect(hcm && Object.keys(hcm)).toEqual(['name', '@type', 'stat_prefix', 'codec_type', 'route_config', 'http_filters']);
    }
  });

  it('tells a policy whose service targets a TCP port that nothing applies there', () => {
    const { errors } = inboundHcm({ observability: { tracing: { samplingPercent: 10 } } }, 9090);
    expect(errors).toEqual([
      { object: P, field: 'spec.observability.tracing', message: expect.stringContaining('port 9090 of Pod default/web-0 is a TCP port'), severity: 'warning' },
    ]);
  });

  it('applies the first access log and the highest sampling when two services share the port, and tells the other policy', () => {
    const mk = (name: string, ref: string, settings: PolicySettings): ModelService =>
      service('default', name, { ports: [withPolicy(port('http', 80, 'http', [], 8080), settings, ref)] });
    const a = mk('a', 'TrafficPolicy default/a', { observability: { accessLog: { enabled: true }, tracing: { samplingPercent: 1 } } });
    const b = mk('b', 'TrafficPolicy default/b', { observability: { accessLog: { enabled: true, format: 'json' }, tracing: { samplingPercent: 50 } } });
    const result = inbound(workload('default', 'a-0', '10.0.0.1', [{ name: 'http', port: 8080, protocol: 'http' }], ['default/a', 'default/b']), [a, b]);
    const hcm = connectionManagers([result.listener])[0]?.hcm;
    expect(hcm).toMatchObject({ access_log: [{ typed_config: { log_format: TEXT } }], tracing: { random_sampling: { value: 50 } } });
    expect(flat(result.errors).map((e) => [e.object, e.field])).toEqual([
      ['TrafficPolicy default/b', 'spec.observability.accessLog'],
      ['TrafficPolicy default/a', 'spec.observability.tracing'],
    ]);
  });
});

describe('proxyless gRPC', () => {
  const settings: PolicySettings = {
    faultInjection: { delay: { fixedDelay: '250ms', percent: 0.5 }, abort: { httpStatus: 503, percent: 10 } },
    rateLimit: { local: BUCKET },
    routing: { http: [{ name: 'open' }, API_ROUTE] },
    observability: { accessLog: { enabled: true }, tracing: { samplingPercent: 1 } },
  };

  it('gets the fault settings, and notes for rate limits and observability instead of resources', () => {
    const errors: TranslationError[] = [];
    const configs = virtualHostFilterConfigs(ctxOf(settings, 'proxyless'), errors);
    expect(Object.keys(configs ?? {})).toEqual([FAULT]);
    expect(routeFilterConfigs(ctxOf(settings, 'proxyless'), API_ROUTE)).toBeUndefined();
    expect(flat(errors).map((e) => [e.object, e.field])).toEqual([
      [P, 'spec.rateLimit'],
      [P, 'spec.routing.http[1].rateLimit'],
      [P, 'spec.observability.accessLog'],
      [P, 'spec.observability.tracing'],
    ]);
    expect(errors[0]?.message).toBe(
      'local rate limiting is not implemented by proxyless gRPC (clients of Service default/web:80): their requests are not limited',
    );
  });

  it.each<[string, PolicySettings, string[]]>([
    ['fault injection', settings, [FAULT, ROUTER]],
    ['a rate limit only', { rateLimit: { local: BUCKET } }, [ROUTER]],
    ['no policy', {}, [ROUTER]],
  ])('lists the filters of the API listener for %s', (_what, s, expected) => {
    const listener = apiListener('web:80', 'web.default.svc.cluster.local:80', 'outbound|80||web', ctxOf(s, 'proxyless'));
    const hcm = listener.api_listener?.api_listener as unknown as { http_filters: { name: string }[] };
    expect(filterNames(hcm.http_filters)).toEqual(expected);
    expect(envoyIssues(LISTENER, listener)).toEqual([]);
  });

  it('keeps server listeners to the router alone (gRPC servers reject the fault filter)', () => {
    const hcm = grpcServerListener('10.0.0.1', 8080).filter_chains?.[0]?.filters?.[0]?.typed_config as unknown as { http_filters: { name: string }[] };
    expect(filterNames(hcm.http_filters)).toEqual([ROUTER]);
  });

  describe('as grpc-js-xds reads it', () => {
    // grpc-js-xds has no public API for its filter registry; its build files are what the client runs.
    const require = createRequire(import.meta.url);
    require('@grpc/grpc-js-xds'); // its entry point loads what its filter modules assume loaded
    const filters = require('@grpc/grpc-js-xds/build/src/http-filter.js') as {
      validateTopLevelFilter(f: { name: string; typed_config: AnyBytes; is_optional: boolean }, client: boolean): boolean;
      validateOverrideFilter(c: AnyBytes): boolean;
      parseOverrideFilterConfig(c: AnyBytes): { config: unknown } | null;
    };
    (require('@grpc/grpc-js-xds/build/src/http-filter/fault-injection-filter.js') as { setup(): void }).setup();
    type AnyBytes = { type_url: string; value: Uint8Array };
    const bytes = (any: object): AnyBytes => {
      const { '@type': url, ...rest } = any as { '@type': string };
      return { type_url: url, value: encodeMessage(url.slice(T.length), rest) };
    };
    const faultAny = (): object => virtualHostFilterConfigs(ctxOf(settings, 'proxyless'))?.[FAULT] ?? {};

    it('parses the virtual host settings as the intended delay and abort', () => {
      expect(filters.validateOverrideFilter(bytes(faultAny()))).toBe(true);
      expect(filters.parseOverrideFilterConfig(bytes(faultAny()))?.config).toEqual({
        delay: { kind: 'fixed', durationMs: 250, percentage: { numerator: 50, denominator: 10_000 } },
        abort: { kind: 'grpc', code: 14, percentage: { numerator: 10, denominator: 100 } },
        maxActiveFaults: Infinity,
      });
    });

    it('accepts the filter of the API listener on clients only, and would reject a rate limit', () => {
      const filter = httpFilters({ direction: 'outbound', port: 80, target: 'proxyless', services: [ctxOf(settings, 'proxyless')] })[0];
      const top = { name: filter?.name ?? '', typed_config: bytes(filter?.typed_config ?? {}), is_optional: false };
      expect(filters.validateTopLevelFilter(top, true)).toBe(true);
      expect(filters.validateTopLevelFilter(top, false)).toBe(false);
      const rate = virtualHostFilterConfigs(ctxOf({ rateLimit: { local: BUCKET } }))?.[RATE] ?? {};
      expect(filters.validateOverrideFilter(bytes(rate))).toBe(false);
    });
  });
});

describe('Envoy encoding', () => {
  it('encodes a whole sidecar with every section (listeners and routes)', () => {
    const { services } = webWith({
      faultInjection: { abort: { grpcStatus: 'INTERNAL', percent: 0.01 } },
      rateLimit: { local: BUCKET },
      routing: { http: [API_ROUTE] },
      observability: { accessLog: { enabled: true, format: 'json' }, tracing: { samplingPercent: 100 } },
    });
    const t = translateSidecar(modelOf(services, meshWorkloads()), WEB_PROXY);
    for (const l of t.resources.listener) expect(() => encodeMessage(LISTENER, l.message), l.name).not.toThrow();
    for (const r of t.resources.route) expect(() => encodeMessage('envoy.config.route.v3.RouteConfiguration', r.message), r.name).not.toThrow();
  });
});
