/**
 * The bench's Envoy-like subscriber (envoy-subscriber.ts), against responses encoded with the test client's
 * own protobufjs root of Envoy's API (not the subscriber's hand-written wire code), its requests decoded the same way.
 */
import { describe, expect, it } from 'vitest';
import { adsProtos } from '../support/ads-client-protos.ts';
import { CDS, EDS } from './config.ts';
import { addressNeedle, encodeNode, EnvoySubscriber, HCM, LDS, NameSets, RDS } from './envoy-subscriber.ts';

const root = adsProtos().root;
const type = (name: string) => root.lookupType(name);
const encode = (name: string, obj: object): Uint8Array => {
  const t = type(name);
  return t.encode(t.fromObject(obj)).finish();
};
const any = (typeUrl: string, message: string, obj: object) => ({ type_url: typeUrl, value: encode(message, obj) });

function response(typeUrl: string, message: string, resources: object[], version: string, nonce: string): Uint8Array {
  return encode('envoy.service.discovery.v3.DiscoveryResponse', {
    version_info: version,
    type_url: typeUrl,
    nonce,
    resources: resources.map((r) => any(typeUrl, message, r)),
  });
}

interface Request {
  version_info: string;
  type_url: string;
  response_nonce: string;
  resource_names: string[];
  node?: { id: string; cluster: string; metadata?: { fields: Record<string, { stringValue: string }> } };
}

function decode(buf: Uint8Array): Request {
  const t = type('envoy.service.discovery.v3.DiscoveryRequest');
  return t.toObject(t.decode(buf), { defaults: true, arrays: true }) as Request;
}
const brief = (r: Request) => ({ type: r.type_url, version: r.version_info, nonce: r.response_nonce, names: r.resource_names });

const eds = (name: string, serviceName = '') => ({
  name,
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {} }, ...(serviceName ? { service_name: serviceName } : {}) },
});
const CLUSTERS = [
  eds('outbound|80||b.ns.svc.cluster.local'),
  eds('outbound|80||a.ns.svc.cluster.local'),
  eds('outbound|81||c.ns.svc.cluster.local', 'c-endpoints'),
  { name: 'inbound|8080||', type: 'STATIC' },
  { name: 'PassthroughCluster', type: 'ORIGINAL_DST' },
];
const EDS_NAMES = ['c-endpoints', 'outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local'];

const hcmFilter = (route: string) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: any(HCM, 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    stat_prefix: route,
    rds: { route_config_name: route, config_source: { ads: {} } },
  }),
});
const LISTENERS = [
  { name: '0.0.0.0_80', filter_chains: [{ filters: [hcmFilter('80')] }] },
  { name: 'virtualInbound', filter_chains: [{ filters: [hcmFilter('inbound|8080')] }], default_filter_chain: { filters: [hcmFilter('inbound-default')] } },
  { name: '10.96.0.10_5432', filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }] },
];

const cla = (name: string, address: string) => ({
  cluster_name: name,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: 8080 } } } }] }],
});
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

function subscriber(sets = new NameSets()): EnvoySubscriber {
  return new EnvoySubscriber(encodeNode({ id: 'p-0.ns', cluster: 'sa.ns', metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'ns', POD_NAME: 'p-0' } }), sets);
}

/** A subscriber that has received CDS and LDS (v1, nonces c1 and l1). */
function subscribed(sets = new NameSets()): EnvoySubscriber {
  const s = subscriber(sets);
  s.handle(response(CDS, 'envoy.config.cluster.v3.Cluster', CLUSTERS, 'v1', 'c1'));
  s.handle(response(LDS, 'envoy.config.listener.v3.Listener', LISTENERS, 'v1', 'l1'));
  return s;
}

describe("the bench's Envoy-like subscriber", () => {
  it('opens with a CDS wildcard request carrying the sidecar node', () => {
    const r = decode(subscriber().start());
    expect(brief(r)).toEqual({ type: CDS, version: '', nonce: '', names: [] });
    expect(r.node?.id).toBe('p-0.ns');
    expect(r.node?.cluster).toBe('sa.ns');
    // google.protobuf.Struct comes from protobufjs's bundled well-known types, which keep camelCase.
    expect(r.node?.metadata?.fields).toEqual({
      PROXY_MODE: { stringValue: 'sidecar' },
      NAMESPACE: { stringValue: 'ns' },
      POD_NAME: { stringValue: 'p-0' },
    });
  });

  it('answers the first CDS response with EDS for its EDS clusters, the CDS ACK, then LDS wildcard', () => {
    const s = subscriber();
    const h = s.handle(response(CDS, 'envoy.config.cluster.v3.Cluster', CLUSTERS, 'v1', 'c1'));
    expect(h.requests.map((b) => brief(decode(b)))).toEqual([
      { type: EDS, version: '', nonce: '', names: EDS_NAMES },
      { type: CDS, version: 'v1', nonce: 'c1', names: [] },
      { type: LDS, version: '', nonce: '', names: [] },
    ]);
    expect(s.synced).toBe(false);
  });

  it('subscribes to the route configurations its listeners name over RDS, in every filter chain and the default one', () => {
    const s = subscriber();
    s.handle(response(CDS, 'envoy.config.cluster.v3.Cluster', CLUSTERS, 'v1', 'c1'));
    const h = s.handle(response(LDS, 'envoy.config.listener.v3.Listener', LISTENERS, 'v1', 'l1'));
    expect(h.requests.map((b) => brief(decode(b)))).toEqual([
      { type: RDS, version: '', nonce: '', names: ['80', 'inbound-default', 'inbound|8080'] },
      { type: LDS, version: 'v1', nonce: 'l1', names: [] },
    ]);
  });

  it('is synced once every EDS and RDS name has arrived, over several responses; each is ACKed with the whole subscription', () => {
    const s = subscribed();
    const routes = ['80', 'inbound-default', 'inbound|8080'].map((name) => ({ name }));
    const steps: [string, string, object[]][] = [
      [EDS, CLA, [cla(EDS_NAMES[0] ?? '', '10.0.0.1'), cla(EDS_NAMES[1] ?? '', '10.0.0.2')]],
      [RDS, 'envoy.config.route.v3.RouteConfiguration', routes],
      [EDS, CLA, [cla(EDS_NAMES[2] ?? '', '10.0.0.3')]],
    ];
    const synced = steps.map(([typeUrl, message, resources], i) => {
      const h = s.handle(response(typeUrl, message, resources, `v${i}`, `n${i}`));
      expect(h.requests.map((b) => brief(decode(b)))).toEqual([
        { type: typeUrl, version: `v${i}`, nonce: `n${i}`, names: typeUrl === EDS ? EDS_NAMES : ['80', 'inbound-default', 'inbound|8080'] },
      ]);
      return s.synced;
    });
    expect(synced).toEqual([false, false, true]);
  });

  it('sends a new EDS subscription only when the EDS clusters change, and is not synced until the new one arrives', () => {
    const sets = new NameSets();
    const s = subscribed(sets);
    s.handle(
      response(
        EDS,
        CLA,
        EDS_NAMES.map((n) => cla(n, '10.0.0.1')),
        'e1',
        'e1',
      ),
    );
    s.handle(
      response(
        RDS,
        'envoy.config.route.v3.RouteConfiguration',
        ['80', 'inbound-default', 'inbound|8080'].map((name) => ({ name })),
        'r1',
        'r1',
      ),
    );
    expect(s.synced).toBe(true);

    const same = s.handle(response(CDS, 'envoy.config.cluster.v3.Cluster', CLUSTERS, 'v2', 'c2'));
    expect(same.requests.map((b) => brief(decode(b)))).toEqual([{ type: CDS, version: 'v2', nonce: 'c2', names: [] }]);

    const more = s.handle(response(CDS, 'envoy.config.cluster.v3.Cluster', [...CLUSTERS, eds('outbound|80||d.ns.svc.cluster.local')], 'v3', 'c3'));
    expect(more.requests.map((b) => brief(decode(b)))).toEqual([
      { type: EDS, version: 'e1', nonce: 'e1', names: [...EDS_NAMES, 'outbound|80||d.ns.svc.cluster.local'] },
      { type: CDS, version: 'v3', nonce: 'c3', names: [] },
    ]);
    expect(s.synced).toBe(false);
    s.handle(response(EDS, CLA, [cla('outbound|80||d.ns.svc.cluster.local', '10.0.0.4')], 'e2', 'e2'));
    expect(s.synced).toBe(true);
  });

  it('shares one name set between streams that subscribe to the same names', () => {
    const sets = new NameSets();
    const [a, b] = [subscribed(sets), subscribed(sets)];
    expect(a.edsNames).toBe(b.edsNames);
    expect(a.rdsNames).toBe(b.rdsNames);
    expect(sets.size).toBe(2);
  });

  it.each([
    ['the watched address in the watched resource', EDS_NAMES[1], '10.64.0.1', true],
    ['an address the watched one is a prefix of', EDS_NAMES[1], '10.64.0.10', false],
    ['the watched address in another resource', EDS_NAMES[0], '10.64.0.1', false],
  ])('reports a watch on %s: %s', (_, name, address, watched) => {
    const s = subscribed();
    s.watch = { typeUrl: EDS, name: EDS_NAMES[1] ?? '', needle: addressNeedle('10.64.0.1') };
    const h = s.handle(response(EDS, CLA, [cla(name ?? '', address), cla(EDS_NAMES[2] ?? '', '10.0.0.9')], 'e1', 'e1'));
    expect(h.watched).toBe(watched);
  });
});
