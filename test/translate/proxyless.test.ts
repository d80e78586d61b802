import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/envoy/codec.ts';
import { messageNameOf, TypeUrl, type ResourceKind } from '../../src/envoy/types.ts';
import type { Locality, MeshModel, ModelEndpoint, ModelService, ModelServicePort } from '../../src/model/types.ts';
import { proxylessHealth } from '../../src/translate/proxyless-outbound.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import type { Translation } from '../../src/translate/translation.ts';
import { flat } from '../support/diagnostics.ts';
import { ref } from '../support/diagnostics.ts';
import { formatRef } from '../../src/diagnostics.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const ADS = { ads: {}, resource_api_version: 'V3' };
const GREETER = 'greeter.default.svc.cluster.local';
const ECHO = 'echo.other.svc.cluster.local';
const EXT = 'ext.other.svc.cluster.local';

function zone(z: string): Locality {
  return { region: 'eu', zone: z, subZone: '' };
}

function ep(address: string, port: number, z: string, ready = true): ModelEndpoint {
  return { address, port, ready, locality: zone(z), source: ref(`EndpointSlice ${z === 'other' ? 'other' : 'default'}/slice-${z}`) };
}

function port(name: string, p: number, protocol: ModelServicePort['protocol'], endpoints: ModelEndpoint[], targetPort = p): ModelServicePort {
  return { name, port: p, protocol, targetPort, endpoints };
}

function service(namespace: string, name: string, ports: ModelServicePort[], extra: Partial<ModelService> = {}): ModelService {
  return {
    namespace,
    name,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    kind: 'ClusterIP',
    selector: { app: name },
    ports,
    source: ref(`Service ${namespace}/${name}`),
    ...extra,
  };
}

/**
 * default: greeter (grpc in two zones; http2 with only a terminating fallback), db (tcp), a pod not
 * ready yet; other: echo (one endpoint that is no IP), ext (ExternalName), broken (ExternalName without a name).
 */
function mesh(): MeshModel {
  return {
    domain: 'cluster.local',
    trustDomain: 'cluster.local',
    services: [
      service('default', 'db', [port('tcp-db', 5432, 'tcp', [ep('10.0.0.7', 5432, 'a')])]),
      service('default', 'greeter', [
        port('grpc', 50051, 'grpc', [ep('10.0.0.1', 50051, 'a'), ep('10.0.0.2', 50051, 'b'), ep('10.0.0.4', 50051, 'b')], 9090),
        port('http2-admin', 8081, 'http2', [ep('10.0.0.3', 8081, 'a', false)]),
      ]),
      service('other', 'broken', [port('grpc', 8443, 'grpc', [])], { kind: 'ExternalName', selector: {} }),
      service('other', 'echo', [port('grpc', 7070, 'grpc', [ep('10.1.0.1', 7070, 'other'), ep('not-an-ip', 7070, 'other')])]),
      service('other', 'ext', [port('grpc', 443, 'grpc', [])], { kind: 'ExternalName', externalName: 'api.example.com', selector: {} }),
    ],
    workloads: [
      {
        namespace: 'default',
        name: 'greeter-new',
        ip: '10.0.0.9',
        labels: { app: 'greeter' },
        serviceAccount: 'greeter',
        identity: 'spiffe://cluster.local/ns/default/sa/greeter',
        ports: [
          { name: 'grpc', port: 50051, protocol: 'grpc' },
          { name: 'metrics', port: 9100, protocol: 'tcp' },
        ],
        services: ['default/greeter'],
        source: ref('Pod default/greeter-new'),
      },
    ],
    policies: [],
    diagnostics: [],
  };
}

const MODEL = mesh();
const inDefault = translateProxyless(MODEL, { mode: 'proxyless', namespace: 'default' });
const inOther = translateProxyless(MODEL, { mode: 'proxyless', namespace: 'other' });

function names(t: Translation, kind: ResourceKind): string[] {
  return t.resources[kind].map((r) => r.name);
}

function find<K extends ResourceKind>(t: Translation, kind: K, name: string): Translation['resources'][K][number] {
  const r = (t.resources[kind] as Translation['resources'][K][number][]).find((x) => x.name === name);
  if (!r) throw new Error(`no ${kind} ${name} in ${names(t, kind).join(', ')}`);
  return r;
}

const server = (addr: string): string => `grpc/server?xds.resource.listening_address=${addr}`;

describe('proxyless client resources', () => {
  it('names API listeners by every dialable name: the short name only within the service namespace', () => {
    const api = (t: Translation): string[] => names(t, 'listener').filter((n) => !n.startsWith('grpc/server'));
    expect(api(inDefault)).toEqual([
      `${ECHO}:7070`,
      'echo.other:7070',
      `${EXT}:443`,
      'ext.other:443',
      `${GREETER}:50051`,
      `${GREETER}:8081`,
      'greeter.default:50051',
      'greeter.default:8081',
      'greeter:50051',
      'greeter:8081',
    ]);
    expect(api(inOther)).toEqual([
      `${ECHO}:7070`,
      'echo.other:7070',
      'echo:7070',
      `${EXT}:443`,
      'ext.other:443',
      'ext:443',
      `${GREETER}:50051`,
      `${GREETER}:8081`,
      'greeter.default:50051',
      'greeter.default:8081',
    ]);
  });

  it('points each listener at one route configuration per service port whose virtual host lists exactly the dialled names', () => {
    expect(names(inDefault, 'route')).toEqual([`${ECHO}:7070`, `${EXT}:443`, `${GREETER}:50051`, `${GREETER}:8081`]);
    expect(find(inDefault, 'route', `${GREETER}:50051`).message).toEqual({
      name: `${GREETER}:50051`,
      virtual_hosts: [
        {
          name: `${GREETER}:50051`,
          domains: [`${GREETER}:50051`, 'greeter.default:50051', 'greeter:50051'],
          routes: [{ match: { prefix: '' }, route: { cluster: `outbound|50051||${GREETER}` } }],
        },
      ],
    });
    for (const t of [inDefault, inOther]) {
      for (const l of t.resources.listener.filter((x) => x.message.api_listener)) {
        const hcm = l.message.api_listener?.api_listener as unknown as { rds: { route_config_name: string } };
        const route = find(t, 'route', hcm.rds.route_config_name);
        expect(route.message.virtual_hosts?.[0]?.domains).toContain(l.name);
      }
    }
  });

  it('builds the API listener around an HTTP connection manager fetching its routes over ADS, router last', () => {
    expect(find(inOther, 'listener', 'echo:7070').message).toEqual({
      name: 'echo:7070',
      api_listener: {
        api_listener: {
          '@type': HCM,
          stat_prefix: `outbound|7070||${ECHO}`,
          rds: { route_config_name: `${ECHO}:7070`, config_source: ADS },
          http_filters: [ROUTER],
        },
      },
    });
  });

  it('emits an EDS cluster over ADS per gRPC-capable service port, and nothing for TCP ports', () => {
    expect(names(inDefault, 'cluster')).toEqual([`outbound|443||${EXT}`, `outbound|50051||${GREETER}`, `outbound|7070||${ECHO}`, `outbound|8081||${GREETER}`]);
    expect(find(inDefault, 'cluster', `outbound|50051||${GREETER}`).message).toEqual({
      name: `outbound|50051||${GREETER}`,
      type: 'EDS',
      eds_cluster_config: { eds_config: ADS },
      connect_timeout: { seconds: 10 },
      lb_policy: 'ROUND_ROBIN',
      // Ejects nothing; present so that grpc-js-xds notices one a policy adds later.
      outlier_detection: { enforcing_success_rate: { value: 0 } },
    });
    const all = Object.values(inDefault.resources).flatMap((rs) => rs.map((r: { name: string }) => r.name));
    expect(all.filter((n) => n.includes('db.') || n.includes('5432') || n.includes('broken'))).toEqual([]);
  });

  it('reaches an ExternalName service through a LOGICAL_DNS cluster (gRFC A37), which has no endpoints resource', () => {
    expect(find(inOther, 'cluster', `outbound|443||${EXT}`).message).toEqual({
      name: `outbound|443||${EXT}`,
      type: 'LOGICAL_DNS',
      outlier_detection: { enforcing_success_rate: { value: 0 } },
      connect_timeout: { seconds: 10 },
      lb_policy: 'ROUND_ROBIN',
      dns_lookup_family: 'V4_PREFERRED',
      load_assignment: {
        cluster_name: `outbound|443||${EXT}`,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'api.example.com', port_value: 443 } } } }] }],
      },
    });
    expect(names(inOther, 'endpoint')).not.toContain(`outbound|443||${EXT}`);
  });

  it('groups endpoints by locality, each with a weight of its size; ready ones HEALTHY', () => {
    expect(names(inDefault, 'endpoint')).toEqual([`outbound|50051||${GREETER}`, `outbound|7070||${ECHO}`, `outbound|8081||${GREETER}`]);
    const cla = find(inDefault, 'endpoint', `outbound|50051||${GREETER}`);
    const sock = (address: string) => ({ endpoint: { address: { socket_address: { address, port_value: 50051 } } }, health_status: 'HEALTHY' });
    expect(cla.message).toEqual({
      cluster_name: `outbound|50051||${GREETER}`,
      endpoints: [
        { locality: { region: 'eu', zone: 'a' }, load_balancing_weight: { value: 1 }, lb_endpoints: [sock('10.0.0.1')] },
        { locality: { region: 'eu', zone: 'b' }, load_balancing_weight: { value: 2 }, lb_endpoints: [sock('10.0.0.2'), sock('10.0.0.4')] },
      ],
    });
    expect(cla.sources?.map(formatRef)).toEqual(['EndpointSlice default/slice-a', 'EndpointSlice default/slice-b', 'Service default/greeter']);
  });

  it('marks the terminating-but-serving fallback UNKNOWN, not DRAINING (grpc-js-xds drops DRAINING endpoints)', () => {
    const cla = find(inDefault, 'endpoint', `outbound|8081||${GREETER}`).message;
    expect(cla.endpoints?.[0]?.lb_endpoints?.[0]?.health_status).toBe('UNKNOWN');
    expect(proxylessHealth({ ready: true })).toBe('HEALTHY');
  });

  it('reports what it leaves out, sorted, and still translates the rest', () => {
    expect(flat(inOther.diagnostics)).toEqual([
      {
        object: 'EndpointSlice other/slice-other',
        field: 'endpoints.addresses',
        message: '"not-an-ip" is not an IP address; left out for proxyless gRPC clients',
      },
      { object: 'Service other/broken', field: 'spec.externalName', message: 'an ExternalName service needs an external name; it gets no cluster' },
    ]);
    const echo = find(inOther, 'endpoint', `outbound|7070||${ECHO}`).message;
    expect(echo.endpoints?.flatMap((l) => l.lb_endpoints?.map((e) => e.endpoint?.address?.socket_address?.address))).toEqual(['10.1.0.1']);
  });
});

describe('proxyless server resources (gRFC A36)', () => {
  it('has one listener per ip:port of the namespace: endpoints of its services and ports of its pods, not TCP', () => {
    const servers = (t: Translation): string[] => names(t, 'listener').filter((n) => n.startsWith('grpc/server'));
    expect(servers(inDefault)).toEqual([
      server('10.0.0.1:50051'),
      server('10.0.0.2:50051'),
      server('10.0.0.3:8081'),
      server('10.0.0.4:50051'),
      server('10.0.0.9:50051'),
    ]);
    expect(servers(inOther)).toEqual([server('10.1.0.1:7070')]);
  });

  it('gives the server listener the exact socket address and one HCM filter routing to itself', () => {
    const l = find(inDefault, 'listener', server('10.0.0.1:50051'));
    expect(l.sources?.map(formatRef)).toEqual(['EndpointSlice default/slice-a', 'Service default/greeter']);
    expect(l.message).toEqual({
      name: server('10.0.0.1:50051'),
      address: { socket_address: { address: '10.0.0.1', port_value: 50051 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': HCM,
                stat_prefix: 'inbound|50051||',
                route_config: {
                  name: 'inbound|50051||',
                  virtual_hosts: [{ name: 'inbound|http|50051', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
                },
                http_filters: [ROUTER],
              },
            },
          ],
        },
      ],
    });
    expect(find(inDefault, 'listener', server('10.0.0.9:50051')).sources?.map(formatRef)).toEqual(['Pod default/greeter-new']);
  });

  it('dedupes a listener that several services share, keeping all their sources', () => {
    const m = mesh();
    const twin = service('default', 'greeter-twin', [port('grpc', 50051, 'grpc', [ep('10.0.0.1', 50051, 'a')])]);
    const t = translateProxyless({ ...m, services: [...m.services, twin] }, { mode: 'proxyless', namespace: 'default' });
    expect(names(t, 'listener').filter((n) => n === server('10.0.0.1:50051'))).toHaveLength(1);
    expect(find(t, 'listener', server('10.0.0.1:50051')).sources?.map(formatRef)).toEqual([
      'EndpointSlice default/slice-a',
      'Service default/greeter',
      'Service default/greeter-twin',
    ]);
  });
});

describe('proxyless translation as a whole', () => {
  it.each([
    ['default', inDefault],
    ['other', inOther],
  ])('encodes every resource of %s (field checks and Envoy validation rules)', (_ns, t) => {
    for (const kind of Object.keys(t.resources) as ResourceKind[]) {
      for (const r of t.resources[kind]) {
        expect(() => encodeMessage(messageNameOf(TypeUrl[kind]), r.message), `${kind} ${r.name}`).not.toThrow();
        expect(r.sources?.length, `${kind} ${r.name} sources`).toBeGreaterThan(0);
      }
    }
  });

  it('lists every kind sorted by name', () => {
    for (const t of [inDefault, inOther]) {
      for (const kind of Object.keys(t.resources) as ResourceKind[]) expect(names(t, kind)).toEqual([...names(t, kind)].sort());
    }
  });

  it('computes once per model and namespace, and shares the namespace-independent objects', () => {
    expect(translateProxyless(MODEL, { mode: 'proxyless', namespace: 'default' })).toBe(inDefault);
    expect(inOther.resources.cluster[0]).toBe(inDefault.resources.cluster[0]);
    expect(find(inOther, 'route', `${GREETER}:50051`)).toBe(find(inDefault, 'route', `${GREETER}:50051`));
    expect(find(inOther, 'listener', `${GREETER}:50051`)).toBe(find(inDefault, 'listener', `${GREETER}:50051`));
    expect(translateProxyless(mesh(), { mode: 'proxyless', namespace: 'default' })).not.toBe(inDefault);
  });

  it("makes again only what a change touched: after an endpoint change, the same cluster, listener and route lists, the other resources' very objects", () => {
    const before = mesh();
    const was = ['default', 'other'].map((namespace) => translateProxyless(before, { mode: 'proxyless', namespace }));
    const moved = {
      ...before,
      services: before.services.map((s) =>
        s.name === 'echo' ? { ...s, ports: s.ports.map((p) => ({ ...p, endpoints: [ep('10.1.0.9', 7070, 'other')] })) } : s,
      ),
    };
    for (const [i, namespace] of ['default', 'other'].entries()) {
      const now = translateProxyless(moved, { mode: 'proxyless', namespace });
      const then = was[i]!;
      expect(now.resources.cluster).toBe(then.resources.cluster);
      expect(now.resources.route).toBe(then.resources.route);
      // default's server listeners come from its own services and pods, which did not change; other's from echo's endpoints
      if (namespace === 'default') expect(now.resources.listener).toBe(then.resources.listener);
      else expect(names(now, 'listener')).toContain(server('10.1.0.9:7070'));
      expect(now.resources.endpoint.filter((e, j) => e !== then.resources.endpoint[j]).map((e) => e.name)).toEqual([`outbound|7070||${ECHO}`]);
    }
  });

  it('gives a namespace without services only the client side', () => {
    const t = translateProxyless(MODEL, { mode: 'proxyless', namespace: 'empty' });
    expect(names(t, 'listener').filter((n) => n.startsWith('grpc/server'))).toEqual([]);
    expect(names(t, 'cluster')).toEqual(names(inDefault, 'cluster'));
  });
});
