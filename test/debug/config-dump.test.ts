import { describe, expect, it } from 'vitest';
import { buildConfigDump } from '../../src/debug/config-dump.js';
import { TypeUrl } from '../../src/envoy/types.js';
import type { HeldResources } from '../../src/xds/status.js';
import { defaultViews, fakeIntrospection, NACK, PRIVATE_KEY, startServer, V1, V2 } from './support.js';

type Json = Record<string, unknown>;
interface Dump {
  configs: Json[];
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

async function dumpOf(proxyId: string): Promise<Dump> {
  const { base } = await startServer();
  const res = await fetch(`${base}/debug/config_dump?proxy=${encodeURIComponent(proxyId)}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Dump;
}

function section(dump: Dump, name: string): Json {
  const found = dump.configs.find((c) => c['@type'] === `${ADMIN}${name}`);
  if (found === undefined) throw new Error(`no ${name}`);
  return found;
}

describe('/debug/config_dump', () => {
  it("lists the dumps in Envoy's order", async () => {
    const dump = await dumpOf('web-0.default');
    expect(dump.configs.map((c) => c['@type'])).toEqual(['Clusters', 'Endpoints', 'Listeners', 'Routes', 'Secrets'].map((n) => `${ADMIN}${n}ConfigDump`));
  });

  it('dumps clusters as dynamic_active_clusters, sorted by name, packed as Any', async () => {
    const clusters = section(await dumpOf('web-0.default'), 'ClustersConfigDump');
    expect(clusters).toEqual({
      '@type': `${ADMIN}ClustersConfigDump`,
      version_info: V1,
      dynamic_active_clusters: [
        { version_info: V1, cluster: { '@type': TypeUrl.cluster, name: 'inbound|8080||', type: 'STATIC' } },
        { version_info: V2, cluster: { '@type': TypeUrl.cluster, name: 'outbound|80||web', type: 'EDS' } },
      ],
    });
  });

  it.each([
    [
      'EndpointsConfigDump',
      {
        dynamic_endpoint_configs: [{ version_info: V1, endpoint_config: { '@type': TypeUrl.endpoint, cluster_name: 'outbound|80||web' } }],
      },
    ],
    [
      'ListenersConfigDump',
      {
        version_info: V1,
        dynamic_listeners: [
          {
            name: 'virtualOutbound',
            active_state: { version_info: V1, listener: { '@type': TypeUrl.listener, name: 'virtualOutbound' } },
          },
        ],
      },
    ],
  ])('dumps %s in its Envoy shape', async (name, expected) => {
    expect(section(await dumpOf('web-0.default'), name)).toEqual({ '@type': `${ADMIN}${name}`, ...expected });
  });

  it('dumps routes and reports the NACK as an UpdateFailureState', async () => {
    const routes = section(await dumpOf('web-0.default'), 'RoutesConfigDump');
    expect(routes).toEqual({
      '@type': `${ADMIN}RoutesConfigDump`,
      dynamic_route_configs: [{ version_info: V1, route_config: { '@type': TypeUrl.route, name: '80' } }],
      error_state: { details: NACK.message, last_update_attempt: '2025-01-02T03:04:05.000Z', version_info: V2 },
    });
  });

  it('reports error_state only where the last response was NACKed', async () => {
    const dump = await dumpOf('web-0.default');
    expect(dump.configs.filter((c) => 'error_state' in c).map((c) => c['@type'])).toEqual([`${ADMIN}RoutesConfigDump`]);
  });

  it('dumps secrets with the private key redacted and the certificate kept', async () => {
    const secrets = section(await dumpOf('web-0.default'), 'SecretsConfigDump');
    expect(secrets).toEqual({
      '@type': `${ADMIN}SecretsConfigDump`,
      dynamic_active_secrets: [
        {
          name: 'default',
          version_info: V1,
          secret: {
            '@type': TypeUrl.secret,
            name: 'default',
            tls_certificate: {
              certificate_chain: { inline_string: '-----BEGIN CERTIFICATE-----' },
              private_key: { inline_string: '[redacted]' },
            },
          },
        },
      ],
    });
    expect(JSON.stringify(secrets)).not.toContain('PRIVATE KEY');
  });
});

describe('/debug/config_dump errors', () => {
  it('answers 400 listing the connected proxies when ?proxy is missing', async () => {
    const { base } = await startServer();
    const res = await fetch(`${base}/debug/config_dump`);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('missing ?proxy=ID; connected proxies: api-0.default, grpc-0.default, web-0.default\n');
  });

  it('answers 400 saying none are connected when none are', async () => {
    const { base } = await startServer(fakeIntrospection({ proxies: [], held: new Map() }));
    const res = await fetch(`${base}/debug/config_dump?proxy=`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('connected proxies: (none)');
  });

  it('answers 404 naming an unknown proxy', async () => {
    const { base } = await startServer(fakeIntrospection(defaultViews()));
    const res = await fetch(`${base}/debug/config_dump?proxy=ghost-1.default`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('"ghost-1.default" is not connected');
  });
});

describe('buildConfigDump', () => {
  it('emits every dump, empty, for a proxy that holds nothing', () => {
    expect(buildConfigDump([])).toEqual({
      configs: [
        { '@type': `${ADMIN}ClustersConfigDump`, version_info: '', dynamic_active_clusters: [] },
        { '@type': `${ADMIN}EndpointsConfigDump`, dynamic_endpoint_configs: [] },
        { '@type': `${ADMIN}ListenersConfigDump`, version_info: '', dynamic_listeners: [] },
        { '@type': `${ADMIN}RoutesConfigDump`, dynamic_route_configs: [] },
        { '@type': `${ADMIN}SecretsConfigDump`, dynamic_active_secrets: [] },
      ],
    });
  });

  it('redacts key material inlined in a cluster transport socket, keeping subset selector keys', () => {
    const held: HeldResources[] = [
      {
        kind: 'cluster',
        versionAcked: V1,
        resources: [
          {
            name: 'c',
            version: V1,
            resource: {
              name: 'c',
              lb_subset_config: { subset_selectors: [{ keys: ['version'] }] },
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                  common_tls_context: { tls_certificates: [{ private_key: { inline_string: PRIVATE_KEY } }] },
                },
              },
            },
            sources: [],
          },
        ],
      },
    ];
    const text = JSON.stringify(buildConfigDump(held));
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).toContain('"private_key":{"inline_string":"[redacted]"}');
    expect(text).toContain('"keys":["version"]');
  });
});
