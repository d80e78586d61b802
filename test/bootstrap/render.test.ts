import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  BootstrapError,
  bootstrapDir,
  bootstrapValues,
  renderBootstrap,
  renderTemplate,
  substitute,
  type BootstrapOptions,
} from '../../src/bootstrap/render.ts';
import { checkFields } from '../../src/envoy/codec.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { NODE_METADATA, SERVER_LISTENER_TEMPLATE, SIDECAR_PORTS, type ProxyMode } from '../../src/envoy/contract.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import { bootstrapMessage, node, structNode } from './message.ts';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const NODE = 'envoy.config.core.v3.Node';

function opts(mode: ProxyMode, extra: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    mode,
    xdsAddress: { host: 'trellis.trellis-system.svc', port: 15010 },
    namespace: 'shop',
    pod: 'cart-7d9f-x2k',
    ip: '10.4.0.17',
    serviceAccount: 'cart',
    region: 'eu-west1',
    zone: 'eu-west1-b',
    ...extra,
  };
}

type Json = Record<string, unknown>;

const sidecar = renderBootstrap(opts('sidecar'));
const proxyless = renderBootstrap(opts('proxyless'));

describe('the sidecar bootstrap (envoy-bootstrap/sidecar.yaml)', () => {
  it('is an Envoy Bootstrap: no unknown field or enum value, no broken validation rule', () => {
    const message = bootstrapMessage(sidecar.object);
    expect(checkFields(BOOTSTRAP, message)).toEqual([]);
    expect(validateMessage(BOOTSTRAP, message)).toEqual([]);
  });

  it('renders YAML that parses back to the same object, with the node identity filled in', () => {
    expect(parse(sidecar.text)).toEqual(sidecar.object);
    expect(node(sidecar.object)).toEqual({
      id: 'cart-7d9f-x2k.shop',
      cluster: 'cart.shop',
      metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'shop', POD_NAME: 'cart-7d9f-x2k', INSTANCE_IP: '10.4.0.17', SERVICE_ACCOUNT: 'cart' },
      locality: { region: 'eu-west1', zone: 'eu-west1-b' },
    });
  });

  it('fetches clusters and listeners over ADS from the xds-grpc cluster, over HTTP/2, to the given address, waiting for them however long it takes', () => {
    const o = sidecar.object as {
      dynamic_resources: Json;
      static_resources: { clusters: { name: string; type: string; load_assignment: Json; typed_extension_protocol_options?: Json }[] };
    };
    expect(o.dynamic_resources).toEqual({
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
    });
    const xds = o.static_resources.clusters.find((c) => c.name === 'xds-grpc');
    expect(xds?.type).toBe('STRICT_DNS');
    expect(JSON.stringify(xds?.load_assignment)).toContain('{"address":"trellis.trellis-system.svc","port_value":15010}');
    expect(xds?.typed_extension_protocol_options).toMatchObject({
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicit_http_config: { http2_protocol_options: {} } },
    });
  });

  it('has admin on 127.0.0.1:15000, Prometheus stats on 15090 and health on 15021, both through the admin cluster', () => {
    const o = sidecar.object as { admin: Json; static_resources: { listeners: { name: string; address: Json; filter_chains: unknown }[] } };
    expect(o.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
    const byPort = new Map(
      o.static_resources.listeners.map((l) => [(l.address.socket_address as { port_value: number }).port_value, JSON.stringify(l.filter_chains)]),
    );
    expect([...byPort.keys()].sort()).toEqual([15021, 15090]);
    expect(byPort.get(15090)).toContain('{"match":{"prefix":"/stats/prometheus"},"route":{"cluster":"envoy-admin"}}');
    expect(byPort.get(15021)).toContain('{"match":{"path":"/healthz/ready"},"route":{"cluster":"envoy-admin","prefix_rewrite":"/ready"}}');
  });

  it('keeps a pod name that looks like a number a string', () => {
    const r = renderBootstrap(opts('sidecar', { pod: '12345' }));
    expect((node(parse(r.text) as Json).metadata as Json).POD_NAME).toBe('12345');
  });
});

describe("a sidecar on Trellis's secure xDS port (--xds-root-cert)", () => {
  const tls = { rootCertFile: '/var/run/secrets/trellis/root-cert.pem', tokenFile: '/var/run/secrets/tokens/trellis-token' };
  const secure = renderBootstrap(opts('sidecar', { xdsAddress: { host: 'trellis.trellis-system.svc', port: 15012 }, xdsTls: tls }));

  it('is an Envoy Bootstrap: no unknown field or enum value, no broken validation rule (the credentials plugin config included)', () => {
    const message = bootstrapMessage(secure.object);
    expect(checkFields(BOOTSTRAP, message)).toEqual([]);
    expect(validateMessage(BOOTSTRAP, message)).toEqual([]);
  });

  it('reaches the xDS address with Google gRPC over TLS verified against the bundle, sending the token file as a bearer token', () => {
    const ads = (secure.object.dynamic_resources as Json).ads_config as { grpc_services: Json[] };
    expect(ads.grpc_services).toEqual([
      {
        google_grpc: {
          target_uri: 'trellis.trellis-system.svc:15012',
          stat_prefix: 'trellis_xds',
          channel_credentials: { ssl_credentials: { root_certs: { filename: tls.rootCertFile } } },
          call_credentials: [
            {
              from_plugin: {
                name: 'envoy.grpc_credentials.file_based_metadata',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.config.grpc_credential.v3.FileBasedMetadataConfig',
                  secret_data: { filename: tls.tokenFile },
                  header_key: 'authorization',
                  header_prefix: 'Bearer ',
                },
              },
            },
          ],
          credentials_factory_name: 'envoy.grpc_credentials.file_based_metadata',
        },
      },
    ]);
  });

  it('keeps everything else of the plaintext bootstrap but the static cluster for the plaintext port', () => {
    const clusters = (b: Json) => ((b.static_resources as Json).clusters as { name: string }[]).map((c) => c.name);
    expect(clusters(sidecar.object)).toContain('xds-grpc');
    expect(clusters(secure.object)).toEqual(clusters(sidecar.object).filter((c) => c !== 'xds-grpc'));
    expect(secure.object.node).toEqual(sidecar.object.node);
    expect((secure.object.static_resources as Json).listeners).toEqual((sidecar.object.static_resources as Json).listeners);
  });
});

describe('the proxyless bootstrap (envoy-bootstrap/proxyless.json)', () => {
  it('names the certificate provider translation uses, reading the mounted files (--cert-dir)', () => {
    const r = renderBootstrap(opts('proxyless', { certDir: '/var/run/secrets/workload-spiffe-credentials/' }));
    expect(r.object.certificate_providers).toEqual({
      default: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: '/var/run/secrets/workload-spiffe-credentials/tls.crt',
          private_key_file: '/var/run/secrets/workload-spiffe-credentials/tls.key',
          ca_certificate_file: '/var/run/secrets/workload-spiffe-credentials/ca.crt',
          refresh_interval: '60s',
        },
      },
    });
    expect(proxyless.object.certificate_providers).toBeUndefined();
  });

  it.each([
    [{ mode: 'proxyless' as const, xdsTls: { rootCertFile: 'r', tokenFile: 't' } }, /gRPC \(grpc-js-xds\) reaches its xDS server in plaintext only/],
    [{ mode: 'sidecar' as const, certDir: '/certs' }, /Envoy sidecars receive their certificates over SDS/],
  ])('refuses options that do not fit the mode: %j', (extra, message) => {
    expect(() => renderBootstrap(opts(extra.mode, extra))).toThrow(message);
  });

  it('is a gRPC xDS bootstrap for an insecure ADS channel with the server listener template', () => {
    expect(JSON.parse(proxyless.text)).toEqual(proxyless.object);
    expect(proxyless.object).toMatchObject({
      xds_servers: [{ server_uri: 'trellis.trellis-system.svc:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    });
  });

  it('carries a node that is a valid Envoy Node', () => {
    const n = structNode(node(proxyless.object));
    expect(checkFields(NODE, n)).toEqual([]);
    expect(validateMessage(NODE, n)).toEqual([]);
    expect(node(proxyless.object)).toMatchObject({ id: 'cart-7d9f-x2k.shop', cluster: 'cart.shop', locality: { region: 'eu-west1', zone: 'eu-west1-b' } });
  });

  it('brackets an IPv6 xDS server address', () => {
    const r = renderBootstrap(opts('proxyless', { xdsAddress: { host: 'fd00::1', port: 15010 } }));
    expect((r.object.xds_servers as { server_uri: string }[])[0]?.server_uri).toBe('[fd00::1]:15010');
  });
});

describe('the node identity contract', () => {
  it.each([
    ['sidecar', sidecar, { mode: 'sidecar', namespace: 'shop', pod: 'cart-7d9f-x2k' }],
    ['proxyless', proxyless, { mode: 'proxyless', namespace: 'shop' }],
  ] as const)('reads the %s node back as the right ProxyDescriptor', (_mode, rendered, expected) => {
    const n = node(rendered.object) as { id: string; cluster: string; metadata: Record<string, string> };
    expect(Object.keys(n.metadata).sort()).toEqual(Object.values(NODE_METADATA).sort());
    expect(describeNode({ id: n.id, cluster: n.cluster, metadata: n.metadata, userAgent: '' })).toEqual(expected);
  });

  it.each(['sidecar.yaml', 'proxyless.json'])('%s takes the metadata keys and the ports from src/envoy/contract.ts, never as literals', (file) => {
    const body = readFileSync(join(bootstrapDir, file), 'utf8').replace(/^\s*#.*$/gm, '');
    for (const key of Object.values(NODE_METADATA)) expect(body).not.toMatch(new RegExp(`\\b${key}\\b`));
    for (const port of Object.values(SIDECAR_PORTS)) expect(body).not.toContain(String(port));
  });

  it('writes the sidecar ports of the contract', () => {
    const o = sidecar.object as { admin: { address: { socket_address: { port_value: number } } } };
    expect(o.admin.address.socket_address.port_value).toBe(SIDECAR_PORTS.admin);
    expect(JSON.stringify(sidecar.object)).toContain(`"port_value":${SIDECAR_PORTS.stats}`);
    expect(JSON.stringify(sidecar.object)).toContain(`"port_value":${SIDECAR_PORTS.health}`);
  });

  it('uses every placeholder value somewhere in the templates, and no other placeholder', () => {
    const used = new Set<string>();
    for (const file of ['sidecar.yaml', 'proxyless.json']) {
      const body = readFileSync(join(bootstrapDir, file), 'utf8').replace(/^#.*$/gm, '');
      for (const m of body.matchAll(/\$\{(\w+)\}/g)) used.add(m[1] ?? '');
    }
    expect([...used].sort()).toEqual(Object.keys(bootstrapValues(opts('sidecar'))).sort());
  });
});

describe('substitution', () => {
  const values = { POD_NAME: 'p', XDS_PORT: 15010 };

  it('types a whole-value placeholder by its value and interpolates the rest as text', () => {
    expect(substitute('${XDS_PORT}', values)).toBe(15010);
    expect(substitute('pod ${POD_NAME} on ${XDS_PORT}', values)).toBe('pod p on 15010');
  });

  it.each([
    ['a misspelt placeholder', 'id: ${POD_NAEM}', /unknown placeholder \$\{POD_NAEM\}/],
    ['a malformed placeholder', 'id: ${POD_NAME', /malformed placeholder/],
    ['an empty placeholder', 'id: ${}', /unknown placeholder/],
  ])('rejects %s', (_what, text, error) => {
    expect(() => renderTemplate(text, values, 'yaml')).toThrow(error);
  });

  it('takes a mapping only as a whole value, written in the style of the placeholder', () => {
    const m = { M: { KEY: 'x\ny' } };
    expect(renderTemplate('a: ${M}\n', m, 'yaml').text).toBe('a:\n  KEY: x\n\n    y\n');
    expect(() => renderTemplate('a: b ${M}\n', m, 'yaml')).toThrow(/\$\{M\} is a mapping/);
  });

  it('never lets a value change the structure of the document', () => {
    const r = renderTemplate('a: ${POD_NAME}\nb: 1\n', { POD_NAME: 'x\nb: 2' }, 'yaml');
    expect(r.object).toEqual({ a: 'x\nb: 2', b: 1 });
    expect(parse(r.text)).toEqual(r.object);
  });

  it('refuses options a proxy could not start with', () => {
    expect(() => renderBootstrap(opts('sidecar', { namespace: '' }))).toThrow(BootstrapError);
    expect(() => renderBootstrap(opts('proxyless', { xdsAddress: { host: 'h', port: 0 } }))).toThrow(/not a port/);
  });
});

describe("an injected sidecar's probe routes (appProbes)", () => {
  const probes: BootstrapOptions['appProbes'] = [
    { path: '/app-health/app/livez', port: 8080, check: { kind: 'http', path: '/healthz', scheme: 'HTTP', headers: [{ name: 'X-Probe', value: 'kubelet' }] } },
    { path: '/app-health/app/startupz', port: 8443, check: { kind: 'http', path: '/started', scheme: 'HTTPS', headers: [] } },
    { path: '/app-health/app/readyz', port: 8080, check: { kind: 'tcp', intervalSeconds: 5, timeoutSeconds: 2 } },
    { path: '/app-health/rpc/livez', port: 9000, check: { kind: 'grpc', service: 'cart.v1.Cart', intervalSeconds: 10, timeoutSeconds: 1 } },
  ];
  const rendered = renderBootstrap(opts('sidecar', { appProbes: probes }));
  type Listener = { name: string; address: { socket_address: { address: string; port_value: number } }; filter_chains: Json[] };
  const o = rendered.object as { static_resources: { listeners: Listener[]; clusters: { name: string; health_checks?: Json[] }[] } };
  const listener = o.static_resources.listeners.find((l) => l.name === 'app-probes');

  it('is an Envoy Bootstrap: no unknown field or enum value, no broken validation rule (health checks and filters included)', () => {
    const message = bootstrapMessage(rendered.object);
    expect(checkFields(BOOTSTRAP, message)).toEqual([]);
    expect(validateMessage(BOOTSTRAP, message)).toEqual([]);
  });

  it('listens on the probe port of the contract and routes each httpGet probe to 127.0.0.1 with its own path and headers', () => {
    expect(listener?.address.socket_address).toEqual({ address: '0.0.0.0', port_value: SIDECAR_PORTS.probes });
    const text = JSON.stringify(listener);
    expect(text).toContain('"match":{"path":"/app-health/app/livez"},"route":{"cluster":"probe|8080|http","prefix_rewrite":"/healthz"}');
    expect(text).toContain('"header":{"key":"X-Probe","value":"kubelet"}');
    expect(text).toContain('"cluster":"probe|8443|https","prefix_rewrite":"/started"');
  });

  it('answers tcpSocket and grpc probes from actively health-checked clusters of 127.0.0.1', () => {
    const tcp = o.static_resources.clusters.find((c) => c.name === 'probe|/app-health/app/readyz');
    expect(tcp?.health_checks).toEqual([expect.objectContaining({ interval: '5s', timeout: '2s', tcp_health_check: {} })]);
    const grpc = o.static_resources.clusters.find((c) => c.name === 'probe|/app-health/rpc/livez');
    expect(grpc?.health_checks).toEqual([expect.objectContaining({ grpc_health_check: { service_name: 'cart.v1.Cart' } })]);
    expect(JSON.stringify(listener)).toContain('"cluster_min_healthy_percentages":{"probe|/app-health/app/readyz":{"value":100}}');
  });

  it('adds nothing without probes, and refuses probes for proxyless gRPC', () => {
    expect(renderBootstrap(opts('sidecar', { appProbes: [] })).text).toBe(sidecar.text);
    expect(() => renderBootstrap(opts('proxyless', { appProbes: probes }))).toThrow(BootstrapError);
  });
});
