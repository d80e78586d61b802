import { describe, expect, it } from 'vitest';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { mesh, WEB_PROXY } from './model-fixtures.ts';
import { resource } from './sidecar-helpers.ts';

const H2 = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const ADS = { ads: {}, resource_api_version: 'V3' };

describe('sidecar clusters', () => {
  it.each([
    // name, type, lb_policy, HTTP/2 upstream
    ['outbound|80||web.default.svc.cluster.local', 'EDS', 'ROUND_ROBIN', false],
    ['outbound|50051||greeter.default.svc.cluster.local', 'EDS', 'ROUND_ROBIN', true],
    ['outbound|8081||idle.shop.svc.cluster.local', 'EDS', 'ROUND_ROBIN', true],
    ['outbound|5432||db.shop.svc.cluster.local', 'EDS', 'ROUND_ROBIN', false],
    ['outbound|8080||pods.shop.svc.cluster.local', 'ORIGINAL_DST', 'CLUSTER_PROVIDED', false],
    ['outbound|9000||pods.shop.svc.cluster.local', 'ORIGINAL_DST', 'CLUSTER_PROVIDED', false],
    ['outbound|80||ext.default.svc.cluster.local', 'STRICT_DNS', 'ROUND_ROBIN', false],
    ['outbound|443||ext.default.svc.cluster.local', 'STRICT_DNS', 'ROUND_ROBIN', false],
    ['PassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED', false],
    ['InboundPassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED', false],
    ['inbound|8080||', 'STATIC', 'ROUND_ROBIN', false],
    ['inbound|50051||', 'STATIC', 'ROUND_ROBIN', true],
    ['inbound|9090||', 'STATIC', 'ROUND_ROBIN', false],
  ])('%s is %s, %s, HTTP/2 upstream: %s', (name, type, lbPolicy, http2) => {
    const c = resource(translateSidecar(mesh(), WEB_PROXY), 'cluster', name);
    expect(c.name).toBe(name);
    expect(c.type).toBe(type);
    expect(c.lb_policy).toBe(lbPolicy);
    expect(c.connect_timeout).toEqual({ seconds: 10 });
    const options = c.typed_extension_protocol_options?.[H2];
    if (http2) expect(options).toEqual({ '@type': `type.googleapis.com/${H2}`, explicit_http_config: { http2_protocol_options: {} } });
    else expect(c.typed_extension_protocol_options).toBeUndefined();
  });

  it.each(['outbound|80||web.default.svc.cluster.local', 'outbound|5432||db.shop.svc.cluster.local'])('%s fetches its endpoints over ADS', (name) => {
    const c = resource(translateSidecar(mesh(), WEB_PROXY), 'cluster', name);
    expect(c.eds_cluster_config).toEqual({ eds_config: ADS });
    expect(c.load_assignment).toBeUndefined();
  });

  it.each([
    ['outbound|80||ext.default.svc.cluster.local', 'api.example.com', 80],
    ['outbound|443||ext.default.svc.cluster.local', 'api.example.com', 443],
    ['inbound|8080||', '127.0.0.1', 8080],
    ['inbound|9090||', '127.0.0.1', 9090],
  ])('%s connects to %s:%i', (name, address, portValue) => {
    const c = resource(translateSidecar(mesh(), WEB_PROXY), 'cluster', name);
    expect(c.load_assignment).toEqual({
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: portValue } } } }] }],
    });
  });

  it.each([
    ['outbound|8080||pods.shop.svc.cluster.local', undefined],
    ['PassthroughCluster', undefined],
    ['InboundPassthroughCluster', { source_address: { address: '127.0.0.6', port_value: 0 } }],
  ])('original-destination cluster %s has no endpoints of its own; bind: %j', (name, bind) => {
    const c = resource(translateSidecar(mesh(), WEB_PROXY), 'cluster', name);
    expect(c.load_assignment).toBeUndefined();
    expect(c.eds_cluster_config).toBeUndefined();
    expect(c.upstream_bind_config).toEqual(bind);
  });

  it('skips the ports the sidecar serves itself when making inbound clusters', () => {
    const t = translateSidecar(mesh(), WEB_PROXY);
    expect(t.resources.cluster.map((c) => c.name)).not.toContain('inbound|15090||');
  });
});
