import { describe, expect, it } from 'vitest';
import { checkFields, encodeMessage, EncodeError, typed } from '../../src/envoy/codec.ts';
import { compileAllRules, validateMessage } from '../../src/envoy/validate.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const LISTENER = 'envoy.config.listener.v3.Listener';
const ROUTES = 'envoy.config.route.v3.RouteConfiguration';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const ADS = { ads: {}, resource_api_version: 'V3' };

function cluster(extra: object = {}): object {
  return { name: 'outbound|80||a.default.svc.cluster.local', type: 'EDS', eds_cluster_config: { eds_config: ADS }, connect_timeout: { seconds: 1 }, ...extra };
}

function endpoints(locality: object = {}, socket: object = {}): object {
  return {
    cluster_name: 'a',
    endpoints: [
      {
        locality: { region: 'r', zone: 'z' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080, ...socket } } } }],
        ...locality,
      },
    ],
  };
}

function routes(host: object = {}, route: object = { match: { prefix: '/' }, route: { cluster: 'a' } }): object {
  return {
    name: 'r',
    virtual_hosts: [{ name: 'a', domains: ['a', 'a.default.svc.cluster.local:80'], routes: [route], ...host }],
    response_headers_to_remove: ['x-internal'],
  };
}

function hcm(extra: object = {}, filter: object = { name: 'envoy.filters.http.router', typed_config: typed(ROUTER, {}) }): object {
  return typed(HCM, {
    stat_prefix: 'in',
    rds: { route_config_name: 'r', config_source: ADS },
    http_filters: [filter],
    ...extra,
  });
}

function listener(hcmConfig: object = hcm(), chain: object = {}): object {
  return {
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    filter_chains: [{ name: 'http', filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcmConfig }], ...chain }],
  };
}

describe('validateMessage accepts', () => {
  it.each([
    ['a cluster', CLUSTER, cluster()],
    ['a cluster with a duration whose seconds are a string', CLUSTER, cluster({ connect_timeout: { seconds: '0', nanos: 250_000_000 } })],
    ['a cluster load assignment', CLA, endpoints()],
    ['a listener with an HTTP connection manager in an Any', LISTENER, listener()],
    ['an API listener', LISTENER, { name: 'a:80', api_listener: { api_listener: hcm() } }],
    ['a listener with a TCP proxy', LISTENER, listener(typed(TCP_PROXY, { stat_prefix: 't', cluster: 'a' }))],
    ['a route configuration', ROUTES, routes()],
    ['an empty string where ignore_empty is set', CLUSTER, cluster({ upstream_http_protocol_options: { override_auto_sni_header: '' } })],
    ['a route whose action is a direct response', ROUTES, routes({}, { match: { path: '/healthz' }, direct_response: { status: 200 } })],
  ])('%s with zero issues', (_label, type, value) => {
    expect(checkFields(type, value)).toEqual([]);
    expect(validateMessage(type, value)).toEqual([]);
  });

  it('accepts a discovery Resource wrapping bytes already encoded', () => {
    const bytes = encodeMessage(CLUSTER, cluster());
    const resource = { name: 'a', version: '1', resource: { type_url: `type.googleapis.com/${CLUSTER}`, value: bytes } };
    expect(validateMessage('envoy.service.discovery.v3.Resource', resource)).toEqual([]);
    expect(encodeMessage('envoy.service.discovery.v3.Resource', resource).length).toBeGreaterThan(bytes.length);
  });
});

describe('validateMessage refuses', () => {
  it.each([
    ['an empty cluster name', CLUSTER, cluster({ name: '' }), 'name', 'must be at least 1 character'],
    ['an absent cluster name', CLUSTER, { type: 'STATIC' }, 'name', 'must be at least 1 character'],
    ['a connect timeout of 0s', CLUSTER, cluster({ connect_timeout: { seconds: 0 } }), 'connect_timeout', 'value 0s must be > 0s'],
    ['a connect timeout of "0" seconds', CLUSTER, cluster({ connect_timeout: { seconds: '0' } }), 'connect_timeout', 'value 0s must be > 0s'],
    ['an undefined lb_policy number', CLUSTER, cluster({ lb_policy: 99 }), 'lb_policy', 'value 99 is not a defined LbPolicy value'],
    [
      'a double wrapper out of its range',
      CLUSTER,
      cluster({ preconnect_policy: { per_upstream_preconnect_ratio: { value: 5 } } }),
      'preconnect_policy.per_upstream_preconnect_ratio',
      'value 5 must be >= 1 and <= 3',
    ],
    [
      'a uint64 wrapper given as a string',
      CLUSTER,
      cluster({ ring_hash_lb_config: { minimum_ring_size: { value: '9000000' } } }),
      'ring_hash_lb_config.minimum_ring_size',
      'value 9000000 must be <= 8388608',
    ],
    [
      'a health check without its required timeout',
      CLUSTER,
      cluster({ health_checks: [{ interval: { seconds: 5 }, tcp_health_check: {} }] }),
      'health_checks[0].timeout',
      'is required',
    ],
    [
      'a health check without a checker',
      CLUSTER,
      cluster({ health_checks: [{ timeout: { seconds: 1 }, interval: { seconds: 5 } }] }),
      'health_checks[0].health_checker',
      'one of [http_health_check, tcp_health_check, grpc_health_check, custom_health_check] is required',
    ],
    [
      'an HTTP health check with a forbidden method',
      CLUSTER,
      cluster({ health_checks: [{ timeout: { seconds: 1 }, interval: { seconds: 5 }, http_health_check: { path: '/h', method: 'CONNECT' } }] }),
      'health_checks[0].http_health_check.method',
      'value CONNECT must not be one of [CONNECT]',
    ],
    [
      'a bad header name where ignore_empty is set',
      CLUSTER,
      cluster({ upstream_http_protocol_options: { override_auto_sni_header: 'a b' } }),
      'upstream_http_protocol_options.override_auto_sni_header',
      'must be a valid HTTP header name, got "a b"',
    ],
    [
      'an empty metadata namespace',
      CLUSTER,
      cluster({ metadata: { filter_metadata: { '': {} } } }),
      'metadata.filter_metadata.',
      'key must be at least 1 character',
    ],
    [
      'port 70000',
      CLA,
      endpoints({}, { port_value: 70000 }),
      'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
      'value 70000 must be <= 65535',
    ],
    ['a locality weight of 0', CLA, endpoints({ load_balancing_weight: { value: 0 } }), 'endpoints[0].load_balancing_weight', 'value 0 must be >= 1'],
    ['a locality weight wrapper without a value', CLA, endpoints({ load_balancing_weight: {} }), 'endpoints[0].load_balancing_weight', 'value 0 must be >= 1'],
    ['an empty cluster name in endpoints', CLA, { endpoints: [] }, 'cluster_name', 'must be at least 1 character'],
    ['a virtual host with no domains', ROUTES, routes({ domains: [] }), 'virtual_hosts[0].domains', 'must have at least 1 item'],
    ['a virtual host with absent domains', ROUTES, { virtual_hosts: [{ name: 'a' }] }, 'virtual_hosts[0].domains', 'must have at least 1 item'],
    [
      'a route without an action',
      ROUTES,
      routes({}, { match: { prefix: '/' } }),
      'virtual_hosts[0].routes[0].action',
      'one of [route, redirect, direct_response, filter_action, non_forwarding_action] is required',
    ],
    ['a route without a match', ROUTES, routes({}, { route: { cluster: 'a' } }), 'virtual_hosts[0].routes[0].match', 'is required'],
    [
      'a header name with a newline',
      ROUTES,
      routes({ request_headers_to_add: [{ header: { key: 'x-a\nb', value: 'v' } }] }),
      'virtual_hosts[0].request_headers_to_add[0].header.key',
      'must be a valid HTTP header name, got "x-a\\nb"',
    ],
    [
      'a header to remove with a newline',
      ROUTES,
      { ...routes(), response_headers_to_remove: ['ok', 'x\n'] },
      'response_headers_to_remove[1]',
      'must be a valid HTTP header name, got "x\\n"',
    ],
    [
      'a set oneof member that breaks its pattern',
      ROUTES,
      routes({}, { match: { path_separated_prefix: '/api/' }, route: { cluster: 'a' } }),
      'virtual_hosts[0].routes[0].match.path_separated_prefix',
      'must match the pattern "^[^?#]+[^?#/]$", got "/api/"',
    ],
    [
      'duplicate headers where unique is required',
      ROUTES,
      routes({}, { match: { prefix: '/' }, route: { cluster: 'a', internal_redirect_policy: { response_headers_to_copy: ['x-a', 'x-b', 'x-a'] } } }),
      'virtual_hosts[0].routes[0].route.internal_redirect_policy.response_headers_to_copy[2]',
      'must be unique (same as [0])',
    ],
    [
      'an HTTP filter with an empty name',
      LISTENER,
      listener(hcm({}, { name: '', typed_config: typed(ROUTER, {}) })),
      'filter_chains[0].filters[0].typed_config.http_filters[0].name',
      'must be at least 1 character',
    ],
    [
      'a network filter with an empty name',
      LISTENER,
      listener(hcm(), { filters: [{ name: '', typed_config: hcm() }] }),
      'filter_chains[0].filters[0].name',
      'must be at least 1 character',
    ],
    [
      'RDS without its required config source',
      LISTENER,
      { name: 'a:80', api_listener: { api_listener: hcm({ rds: { route_config_name: 'r' } }) } },
      'api_listener.api_listener.rds.config_source',
      'is required',
    ],
    [
      'a scheme outside its set',
      LISTENER,
      listener(hcm({ scheme_header_transformation: { scheme_to_overwrite: 'ftp' } })),
      'filter_chains[0].filters[0].typed_config.scheme_header_transformation.scheme_to_overwrite',
      'must be one of [http, https], got "ftp"',
    ],
    [
      'a source port of 0',
      LISTENER,
      listener(hcm(), { filter_chain_match: { source_ports: [0] } }),
      'filter_chains[0].filter_chain_match.source_ports[0]',
      'value 0 must be >= 1 and <= 65535',
    ],
    [
      'a bool that must be true',
      LISTENER,
      { ...listener(), listener_filters: [{ name: 'f', filter_disabled: { any_match: false } }] },
      'listener_filters[0].filter_disabled.any_match',
      'must be true',
    ],
    [
      'an absent uint32 whose default breaks its rule',
      LISTENER,
      listener(typed(TCP_PROXY, { stat_prefix: 't', weighted_clusters: { clusters: [{ name: 'a' }] } })),
      'filter_chains[0].filters[0].typed_config.weighted_clusters.clusters[0].weight',
      'value 0 must be >= 1',
    ],
  ])('%s, naming the path', (_label, type, value, path, message) => {
    expect(checkFields(type, value)).toEqual([]);
    expect(validateMessage(type, value)).toContainEqual({ severity: 'error', field: path, message });
  });

  it('reports each broken rule once, and nothing else', () => {
    expect(validateMessage(CLUSTER, cluster({ name: '', connect_timeout: { nanos: 0 }, lb_policy: 42 }))).toEqual([
      { severity: 'error', field: 'name', message: 'must be at least 1 character' },
      { severity: 'error', field: 'connect_timeout', message: 'value 0s must be > 0s' },
      { severity: 'error', field: 'lb_policy', message: 'value 42 is not a defined LbPolicy value' },
    ]);
  });
});

describe('encodeMessage', () => {
  it('throws an EncodeError naming the path of a broken rule', () => {
    let error: unknown;
    try {
      encodeMessage(CLA, endpoints({}, { port_value: 70000 }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as EncodeError).issues).toEqual([
      { severity: 'error', field: 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value', message: 'value 70000 must be <= 65535' },
    ]);
    expect((error as EncodeError).message).toContain('socket_address.port_value: value 70000 must be <= 65535');
  });
});

describe('rule coverage', () => {
  it('checks every validation rule that occurs in the loaded Envoy protos', () => {
    expect(compileAllRules()).toEqual([]);
  });
});
