import { describe, expect, it } from 'vitest';
import type { MeshModel } from '../../src/model/types.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import type { ResourceKind } from '../../src/envoy/types.ts';
import { CART_PROXY, endpoint, mesh, meshServices, meshWorkloads, modelOf, port, service, WEB_PROXY, workload } from './model-fixtures.ts';
import { isSorted, names, sourcesOf } from './sidecar-helpers.ts';
import { flat } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';

const KINDS: ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];

describe('translateSidecar: the resources of a sidecar', () => {
  it.each<[ResourceKind, string[]]>([
    [
      'cluster',
      [
        'InboundPassthroughCluster',
        'PassthroughCluster',
        'inbound|50051||',
        'inbound|8080||',
        'inbound|9090||',
        'outbound|443||ext.default.svc.cluster.local',
        'outbound|50051||greeter.default.svc.cluster.local',
        'outbound|5432||db.shop.svc.cluster.local',
        'outbound|8080||pods.shop.svc.cluster.local',
        'outbound|8081||idle.shop.svc.cluster.local',
        'outbound|80||cart.shop.svc.cluster.local',
        'outbound|80||ext.default.svc.cluster.local',
        'outbound|80||web.default.svc.cluster.local',
        'outbound|9000||pods.shop.svc.cluster.local',
      ],
    ],
    [
      'endpoint',
      [
        'outbound|50051||greeter.default.svc.cluster.local',
        'outbound|5432||db.shop.svc.cluster.local',
        'outbound|8081||idle.shop.svc.cluster.local',
        'outbound|80||cart.shop.svc.cluster.local',
        'outbound|80||web.default.svc.cluster.local',
      ],
    ],
    ['listener', ['0.0.0.0_50051', '0.0.0.0_80', '0.0.0.0_8080', '0.0.0.0_8081', '10.96.0.20_5432', 'virtualInbound', 'virtualOutbound']],
    ['route', ['50051', '80', '8080', '8081']],
    ['secret', []],
  ])('%s: exactly these, sorted by name', (kind, expected) => {
    const t = translateSidecar(mesh(), WEB_PROXY);
    expect(names(t, kind)).toEqual(expected);
  });

  it('translates the fixture mesh without errors', () => {
    expect(translateSidecar(mesh(), WEB_PROXY).diagnostics).toEqual([]);
    expect(translateSidecar(mesh(), CART_PROXY).diagnostics).toEqual([]);
  });

  it.each(KINDS)('every %s lists its sources, sorted', (kind) => {
    const t = translateSidecar(mesh(), WEB_PROXY);
    for (const r of t.resources[kind]) expect(isSorted((r.sources ?? []).map(formatRef)), r.name).toBe(true);
  });

  it.each<[ResourceKind, string, string[]]>([
    ['cluster', 'outbound|80||web.default.svc.cluster.local', ['Service default/web']],
    ['endpoint', 'outbound|80||web.default.svc.cluster.local', ['EndpointSlice default/web-abcde', 'Service default/web']],
    ['listener', '0.0.0.0_80', ['Service default/ext', 'Service default/web', 'Service shop/cart']],
    ['listener', '10.96.0.20_5432', ['Service shop/db']],
    ['listener', 'virtualInbound', ['Pod default/web-0']],
    ['cluster', 'inbound|8080||', ['Pod default/web-0']],
    ['route', '80', ['Service default/ext', 'Service default/web', 'Service shop/cart']],
  ])('%s %s comes from %j', (kind, name, sources) => {
    expect(sourcesOf(translateSidecar(mesh(), WEB_PROXY), kind, name)).toEqual(sources);
  });
});

describe('translateSidecar: computed once', () => {
  it('hands two proxies of different pods the very same outbound objects', () => {
    const model = mesh();
    const web = translateSidecar(model, WEB_PROXY);
    const cart = translateSidecar(model, CART_PROXY);
    const outbound = (t: typeof web) => t.resources.cluster.filter((c) => c.name.startsWith('outbound|') || c.name === 'PassthroughCluster');
    expect(outbound(web).length).toBeGreaterThan(0);
    outbound(web).forEach((c, i) => expect(outbound(cart)[i]).toBe(c));
    web.resources.endpoint.forEach((e, i) => expect(cart.resources.endpoint[i]).toBe(e));
    const shared = (t: typeof web) => t.resources.listener.filter((l) => l.name !== 'virtualInbound');
    shared(web).forEach((l, i) => expect(shared(cart)[i]).toBe(l));
  });

  it('hands a new model object the objects of the one before where their content is equal, and new ones where it changed', () => {
    const a = translateSidecar(mesh(), WEB_PROXY);
    const b = translateSidecar(mesh(), WEB_PROXY);
    expect(b.resources.cluster).toBe(a.resources.cluster);
    expect(b.resources.route).toBe(a.resources.route);
    const changed = mesh();
    const moved = { ...changed, services: changed.services.map((s) => ({ ...s, hostname: `${s.name}.${s.namespace}.svc.example.org` })) };
    const c = translateSidecar(moved, WEB_PROXY);
    expect(c.resources.cluster).not.toBe(a.resources.cluster);
    expect(c.resources.cluster.find((r) => r.name === 'PassthroughCluster')).toBe(a.resources.cluster.find((r) => r.name === 'PassthroughCluster'));
    expect(c.resources.route[0]).not.toEqual(a.resources.route[0]);
  });

  it('hands every class the very same cluster, listener and route lists after an endpoint change, and a new assignment list', () => {
    const services = meshServices();
    const workloads = meshWorkloads();
    const before = modelOf(services, workloads);
    const proxies = [WEB_PROXY, CART_PROXY, { mode: 'sidecar', namespace: 'shop', pod: 'other-0' } as const];
    const was = proxies.map((p) => translateSidecar(before, p));
    const moved = services.map((s) =>
      s.name === 'web' ? { ...s, ports: s.ports.map((p) => ({ ...p, endpoints: [endpoint('10.0.9.9', 8080, 'zone-a')] })) } : s,
    );
    const after = modelOf(moved, workloads);
    proxies.forEach((p, i) => {
      const now = translateSidecar(after, p);
      expect(now.resources.cluster).toBe(was[i]?.resources.cluster);
      expect(now.resources.listener).toBe(was[i]?.resources.listener);
      expect(now.resources.route).toBe(was[i]?.resources.route);
      expect(now.resources.endpoint).not.toBe(was[i]?.resources.endpoint);
      expect(now.resources.endpoint.filter((e, j) => e !== was[i]?.resources.endpoint[j]).map((e) => e.name)).toEqual([
        'outbound|80||web.default.svc.cluster.local',
      ]);
    });
  });

  it('makes again the virtual hosts of a service whose routing changed, and keeps every other one', () => {
    const services = meshServices();
    const workloads = meshWorkloads();
    const route = (m: MeshModel) => translateSidecar(m, WEB_PROXY).resources.route.find((r) => r.name === '80');
    const hosts = (m: MeshModel) => new Map((route(m)?.message.virtual_hosts ?? []).map((h) => [h.name ?? '', h]));
    const was = hosts(modelOf(services, workloads));
    const moved = services.map((s) => (s.name === 'cart' ? { ...s, clusterIP: '10.96.0.99' } : s));
    const now = hosts(modelOf(moved, workloads));
    expect([...now.keys()]).toEqual([...was.keys()]);
    for (const [name, host] of now) {
      if (name === 'cart.shop.svc.cluster.local:80') {
        expect(host).not.toBe(was.get(name));
        expect(host.domains).toContain('10.96.0.99');
      } else expect(host).toBe(was.get(name));
    }
  });

  it('shares routes between pods of one namespace, not across namespaces', () => {
    const model = mesh();
    const web = translateSidecar(model, WEB_PROXY);
    const other = translateSidecar(model, { mode: 'sidecar', namespace: 'default', pod: 'other-0' });
    const shop = translateSidecar(model, CART_PROXY);
    expect(other.resources.route[0]).toBe(web.resources.route[0]);
    expect(shop.resources.route[0]).not.toBe(web.resources.route[0]);
  });
});

describe('translateSidecar: a proxy whose pod the model does not know', () => {
  it('gets the outbound resources and a passthrough-only virtualInbound', () => {
    const t = translateSidecar(mesh(), { mode: 'sidecar', namespace: 'default', pod: 'unknown-0' });
    expect(names(t, 'cluster').filter((n) => n.startsWith('inbound|'))).toEqual([]);
    expect(names(t, 'cluster')).toContain('InboundPassthroughCluster');
    const inbound = t.resources.listener.find((l) => l.name === 'virtualInbound');
    expect(inbound?.message.filter_chains).toEqual([]);
    expect(inbound?.message.default_filter_chain?.name).toBe('InboundPassthroughFilterChain');
    expect(t.diagnostics).toEqual([]);
  });
});

function withServices(extra: ReturnType<typeof service>[], workloads = meshWorkloads()): MeshModel {
  return modelOf([...meshServices(), ...extra], workloads);
}

describe('translateSidecar: best effort', () => {
  it.each<[string, () => MeshModel, { object: string; field?: string; message: string }, (names: (k: ResourceKind) => string[]) => void]>([
    [
      'a second service with a taken ClusterIP loses its TCP listener and IP domains',
      () => withServices([service('shop', 'dup', { clusterIP: '10.96.0.20', ports: [port('tcp', 5432, 'tcp'), port('http', 80, 'http')] })]),
      { object: 'Service shop/dup', field: 'spec.clusterIP', message: 'clusterIP 10.96.0.20 is already Service shop/db' },
      (n) => expect(n('cluster')).toContain('outbound|5432||dup.shop.svc.cluster.local'),
    ],
    [
      'an ExternalName service without a name gets no cluster',
      () => withServices([service('shop', 'nowhere', { kind: 'ExternalName', ports: [port('http', 80, 'http')] })]),
      { object: 'Service shop/nowhere', field: 'spec.externalName', message: 'needs an external name' },
      (n) => expect(n('cluster')).not.toContain('outbound|80||nowhere.shop.svc.cluster.local'),
    ],
    [
      'an HTTP port the sidecar itself listens on gets no listener',
      () => withServices([service('shop', 'clash', { clusterIP: '10.96.0.99', ports: [port('http', 15001, 'http')] })]),
      { object: 'Service shop/clash', field: 'spec.ports', message: 'port 15001 is one the sidecar listens on itself' },
      (n) => expect(n('listener')).not.toContain('0.0.0.0_15001'),
    ],
    [
      "an HTTP port on the injected sidecar's probe port gets no listener",
      () => withServices([service('shop', 'probes', { clusterIP: '10.96.0.98', ports: [port('http', 15020, 'http')] })]),
      { object: 'Service shop/probes', field: 'spec.ports', message: 'port 15020 is one the sidecar listens on itself' },
      (n) => expect(n('listener')).not.toContain('0.0.0.0_15020'),
    ],
    [
      'a ClusterIP service without an IP gets no TCP listener',
      () => withServices([service('shop', 'noip', { ports: [port('tcp', 7000, 'tcp', [endpoint('10.0.3.1', 7000, 'zone-a')])] })]),
      { object: 'Service shop/noip', field: 'spec.clusterIP', message: 'no clusterIP' },
      (n) => expect(n('endpoint')).toContain('outbound|7000||noip.shop.svc.cluster.local'),
    ],
    [
      'a workload port declared with two protocols keeps the first',
      () =>
        withServices(
          [],
          [
            workload('default', 'web-0', '10.0.1.1', [
              { name: 'http', port: 8080, protocol: 'http' },
              { name: 'grpc', port: 8080, protocol: 'grpc' },
            ]),
          ],
        ),
      { object: 'Pod default/web-0', message: 'port 8080 is declared as http and as grpc' },
      (n) => expect(n('cluster').filter((c) => c.startsWith('inbound|'))).toEqual(['inbound|8080||']),
    ],
  ])('%s', (_label, model, error, check) => {
    const t = translateSidecar(model(), WEB_PROXY);
    expect(flat(t.diagnostics)).toEqual([{ ...error, message: expect.stringContaining(error.message) }]);
    check((k) => names(t, k));
    expect(names(t, 'listener')).toContain('virtualOutbound');
  });

  it('turns an exception while translating one service into an error about it', () => {
    const broken = service('shop', 'broken', { clusterIP: '10.96.0.98', ports: [] });
    Object.defineProperty(broken, 'ports', {
      get() {
        throw new Error('boom');
      },
    });
    const t = translateSidecar(withServices([broken]), WEB_PROXY);
    expect(flat(t.diagnostics)).toEqual([{ object: 'Service shop/broken', message: expect.stringContaining('boom') }]);
    expect(names(t, 'cluster')).toContain('outbound|80||web.default.svc.cluster.local');
  });
});
