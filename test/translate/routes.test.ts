import { describe, expect, it } from 'vitest';
import type { VirtualHost } from '../../src/envoy/generated/envoy/config/route/v3/VirtualHost.ts';
import { serviceDomains } from '../../src/translate/routes.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { CART_PROXY, mesh, meshServices, meshWorkloads, modelOf, port, service, WEB_PROXY } from './model-fixtures.ts';
import { resource } from './sidecar-helpers.ts';

function virtualHost(proxy: typeof WEB_PROXY | typeof CART_PROXY, route: string, name: string, model = mesh()): VirtualHost | undefined {
  return resource(translateSidecar(model, proxy), 'route', route).virtual_hosts?.find((v) => v.name === name);
}

const WEB_NAMES = ['web.default', 'web.default.svc', 'web.default.svc.cluster.local', '10.96.0.10'];
const withPort = (hosts: string[], p: number) => hosts.flatMap((h) => [h, `${h}:${p}`]).sort();

describe('outbound routes', () => {
  it.each([
    ['its own namespace, short name included', WEB_PROXY, withPort(['web', ...WEB_NAMES], 80)],
    ['another namespace, no short name', CART_PROXY, withPort(WEB_NAMES, 80)],
  ])('default/web seen from %s', (_label, proxy, domains) => {
    const vh = virtualHost(proxy, '80', 'web.default.svc.cluster.local:80');
    expect(vh?.domains).toEqual(domains);
    expect(vh?.routes).toEqual([{ match: { prefix: '/' }, route: { cluster: 'outbound|80||web.default.svc.cluster.local', timeout: { seconds: 0 } } }]);
  });

  it.each([
    [
      'a headless service answers to its names only',
      '8080',
      'pods.shop.svc.cluster.local:8080',
      withPort(['pods', 'pods.shop', 'pods.shop.svc', 'pods.shop.svc.cluster.local'], 8080),
    ],
    [
      'an ExternalName service answers to its names only',
      '80',
      'ext.default.svc.cluster.local:80',
      withPort(['ext.default', 'ext.default.svc', 'ext.default.svc.cluster.local'], 80),
    ],
  ])('%s', (_label, route, name, domains) => {
    expect(virtualHost(CART_PROXY, route, name)?.domains).toEqual(domains);
  });

  it('puts every HTTP service of one port in its route configuration, with a catch-all passthrough', () => {
    const rc = resource(translateSidecar(mesh(), WEB_PROXY), 'route', '80');
    expect(rc.name).toBe('80');
    expect(rc.validate_clusters).toEqual({ value: false });
    expect(rc.virtual_hosts?.map((v) => v.name)).toEqual([
      'allow_any',
      'cart.shop.svc.cluster.local:80',
      'ext.default.svc.cluster.local:80',
      'web.default.svc.cluster.local:80',
    ]);
    expect(rc.virtual_hosts?.[0]).toEqual({
      name: 'allow_any',
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: { seconds: 0 } } }],
    });
  });

  it.each([WEB_PROXY, CART_PROXY])('never repeats a domain within a route configuration (%j)', (proxy) => {
    for (const rc of translateSidecar(mesh(), proxy).resources.route) {
      const all = (rc.message.virtual_hosts ?? []).flatMap((v) => v.domains ?? []);
      expect(new Set(all).size, rc.name).toBe(all.length);
    }
  });

  it('routes a service whose ClusterIP is taken by names only', () => {
    const dup = service('shop', 'dup', { clusterIP: '10.96.0.10', ports: [port('http', 80, 'http')] });
    const model = modelOf([...meshServices(), dup], meshWorkloads());
    expect(virtualHost(CART_PROXY, '80', 'dup.shop.svc.cluster.local:80', model)?.domains).toEqual(
      withPort(['dup', 'dup.shop', 'dup.shop.svc', 'dup.shop.svc.cluster.local'], 80),
    );
    expect(virtualHost(CART_PROXY, '80', 'web.default.svc.cluster.local:80', model)?.domains).toContain('10.96.0.10:80');
  });

  it.each([
    ['IPv4', '10.0.0.1', ['10.0.0.1', '10.0.0.1:81']],
    ['IPv6, in brackets', 'fd00::1', ['[fd00::1]', '[fd00::1]:81']],
  ])('answers to the ClusterIP, %s', (_label, ip, expected) => {
    const s = service('ns', 'svc', { clusterIP: ip, ports: [port('http', 81, 'http')] });
    const domains = serviceDomains(s, 81, 'other');
    for (const d of expected) expect(domains).toContain(d);
    expect(serviceDomains(s, 81, 'other', false).some((d) => d.includes(ip))).toBe(false);
  });
});
