import { describe, expect, it } from 'vitest';
import { HTTP_FILTERS, httpFilters } from '../../src/translate/filters/index.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { CART_PROXY, mesh, WEB_PROXY } from './model-fixtures.ts';
import { connectionManagers, networkFilters, resource } from './sidecar-helpers.ts';

const ORIGINAL_DST = {
  name: 'envoy.filters.listener.original_dst',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
};
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

function tcpProxyTo(cluster: string) {
  return { name: 'envoy.filters.network.tcp_proxy', '@type': TCP_PROXY, stat_prefix: cluster, cluster };
}

describe('outbound listeners', () => {
  it('captures outbound traffic on 15001, hands it off by original destination, passes the rest through', () => {
    const l = resource(translateSidecar(mesh(), WEB_PROXY), 'listener', 'virtualOutbound');
    expect(l.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15001 } });
    expect(l.use_original_dst).toEqual({ value: true });
    expect(l.bind_to_port).toBeUndefined();
    expect(l.listener_filters).toEqual([ORIGINAL_DST]);
    expect(l.default_filter_chain?.name).toBe('PassthroughFilterChain');
    expect(networkFilters(l.default_filter_chain)).toEqual([tcpProxyTo('PassthroughCluster')]);
  });

  it.each([80, 8080, 8081, 50051])('shares one HTTP listener 0.0.0.0_%i, not bound, routes over RDS', (port) => {
    const l = resource(translateSidecar(mesh(), WEB_PROXY), 'listener', `0.0.0.0_${port}`);
    expect(l.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: port } });
    expect(l.bind_to_port).toEqual({ value: false });
    expect(l.traffic_direction).toBe('OUTBOUND');
    const [hcm, ...rest] = networkFilters(l.filter_chains?.[0]);
    expect(rest).toEqual([]);
    expect(hcm).toMatchObject({
      name: 'envoy.filters.network.http_connection_manager',
      stat_prefix: `outbound_0.0.0.0_${port}`,
      codec_type: 'AUTO',
      rds: { route_config_name: String(port), config_source: { ads: {}, resource_api_version: 'V3' } },
    });
  });

  it('gives a TCP service port its own listener on the ClusterIP, proxied to its cluster', () => {
    const l = resource(translateSidecar(mesh(), WEB_PROXY), 'listener', '10.96.0.20_5432');
    expect(l.address).toEqual({ socket_address: { address: '10.96.0.20', port_value: 5432 } });
    expect(l.bind_to_port).toEqual({ value: false });
    expect(networkFilters(l.filter_chains?.[0])).toEqual([tcpProxyTo('outbound|5432||db.shop.svc.cluster.local')]);
  });

  it.each([
    ['a headless TCP port', '_9000'],
    ['an ExternalName TCP port', '_443'],
  ])('gives %s no listener (it takes the passthrough)', (_label, suffix) => {
    const listeners = translateSidecar(mesh(), WEB_PROXY).resources.listener.map((l) => l.name);
    expect(listeners.filter((n) => n.endsWith(suffix))).toEqual([]);
  });
});

describe('virtualInbound', () => {
  it('captures inbound traffic on 15006 and restores its destination', () => {
    const l = resource(translateSidecar(mesh(), WEB_PROXY), 'listener', 'virtualInbound');
    expect(l.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15006 } });
    expect(l.listener_filters).toEqual([ORIGINAL_DST]);
    expect(l.traffic_direction).toBe('INBOUND');
    expect(networkFilters(l.default_filter_chain)).toEqual([tcpProxyTo('InboundPassthroughCluster')]);
  });

  it.each([
    [WEB_PROXY, [8080, 9090, 50051]],
    [CART_PROXY, [8080]],
  ])('has one chain per port of the workload of %j (never Envoy’s own 15090)', (proxy, ports) => {
    const l = resource(translateSidecar(mesh(), proxy), 'listener', 'virtualInbound');
    expect(l.filter_chains?.map((c) => c.filter_chain_match?.destination_port?.value)).toEqual(ports);
    expect(l.filter_chains?.map((c) => c.name)).toEqual(ports.map((p) => `inbound|${p}||`));
  });

  it.each([
    [8080, 'http'],
    [50051, 'http'],
    [9090, 'tcp'],
  ])('port %i goes through %s to inbound|<port>||', (port, kind) => {
    const l = resource(translateSidecar(mesh(), WEB_PROXY), 'listener', 'virtualInbound');
    const chain = l.filter_chains?.find((c) => c.filter_chain_match?.destination_port?.value === port);
    const [filter] = networkFilters(chain);
    if (kind === 'tcp') {
      expect(filter).toEqual(tcpProxyTo(`inbound|${port}||`));
      return;
    }
    expect(filter).toMatchObject({ stat_prefix: `inbound_0.0.0.0_${port}`, codec_type: 'AUTO' });
    expect(filter?.rds).toBeUndefined();
    expect(filter?.route_config).toEqual({
      name: `inbound|${port}||`,
      virtual_hosts: [
        {
          name: `inbound|http|${port}`,
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: `inbound|${port}||`, timeout: { seconds: 0 } } }],
        },
      ],
      validate_clusters: { value: false },
    });
  });
});

describe('HTTP filters', () => {
  it('puts the router last in every connection manager', () => {
    const managers = connectionManagers(translateSidecar(mesh(), WEB_PROXY).resources.listener);
    expect(managers.map((m) => m.at)).toEqual([
      '0.0.0.0_50051/',
      '0.0.0.0_80/',
      '0.0.0.0_8080/',
      '0.0.0.0_8081/',
      'virtualInbound/inbound|8080||',
      'virtualInbound/inbound|50051||',
    ]);
    for (const { at, hcm } of managers) {
      const filters = hcm.http_filters as { name: string; typed_config: Record<string, unknown> }[];
      expect(filters.at(-1), at).toEqual({
        name: 'envoy.filters.http.router',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
      });
    }
  });

  it.each(['inbound', 'outbound'] as const)('lists the router as the last feature, and it is the last %s filter', (direction) => {
    expect(HTTP_FILTERS.at(-1)?.feature).toBe('router');
    expect(httpFilters({ direction, port: 80 }).at(-1)?.name).toBe('envoy.filters.http.router');
  });
});
