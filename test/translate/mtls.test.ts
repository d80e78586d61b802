/**
 * Mutual TLS in translation (src/translate/mtls.ts), piece by piece; the golden cases mtls-* show
 * whole proxies. Off: nothing changes, the very same objects. Sidecars: SDS names, SANs, SNI, ALPN,
 * transport socket matches, inbound chains. Proxyless gRPC: certificate provider instances,
 * match_subject_alt_names, STRICT servers, PERMISSIVE served plaintext. And the encoded bytes read
 * back the way Envoy and grpc-js-xds read them.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/envoy/codec.ts';
import type { Cluster } from '../../src/envoy/generated/envoy/config/cluster/v3/Cluster.ts';
import type { Listener } from '../../src/envoy/generated/envoy/config/listener/v3/Listener.ts';
import { buildModel, type ModelOptions } from '../../src/model/build.ts';
import type { MeshModel, MtlsMode } from '../../src/model/types.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import type { Translation } from '../../src/translate/translation.ts';

const MESH = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.10, selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }, { name: grpc, port: 50051 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-abc, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }, { name: grpc, port: 50051 }]
endpoints:
  - { addresses: [10.1.0.1], targetRef: { kind: Pod, name: web-1, namespace: shop } }
  - { addresses: [10.1.0.2], targetRef: { kind: Pod, name: web-2, namespace: shop } }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web, trellis.dev/tls-mode: mesh } }
spec: { serviceAccountName: web, containers: [{ name: app, ports: [{ name: http, containerPort: 8080 }, { name: grpc, containerPort: 50051 }] }] }
status: { podIP: 10.1.0.1 }
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, namespace: shop, labels: { app: web } }
spec: { serviceAccountName: web-old, containers: [{ name: app, ports: [{ name: http, containerPort: 8080 }] }] }
status: { podIP: 10.1.0.2 }
---
apiVersion: v1
kind: Service
metadata: { name: pods, namespace: shop }
spec: { clusterIP: None, selector: { app: none }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: ext, namespace: shop }
spec: { type: ExternalName, externalName: api.example.com, ports: [{ name: http, port: 443 }] }
`;

function model(mtls?: MtlsMode, extra = ''): MeshModel {
  const opts: ModelOptions = { domain: 'cluster.local', trustDomain: 'example.org', ...(mtls ? { mtls: { enabled: true, defaultMode: mtls } } : {}) };
  return buildModel(parseManifests([{ path: 'mesh.yaml', text: MESH + extra }]).inputs, opts);
}

function sidecar(m: MeshModel, pod = 'web-1'): Translation {
  return translate(m, describeNode({ id: `${pod}.shop`, cluster: '', metadata: { PROXY_MODE: 'sidecar' }, userAgent: '' }));
}

function proxyless(m: MeshModel): Translation {
  return translate(m, describeNode({ id: 'app.shop', cluster: '', metadata: { PROXY_MODE: 'proxyless' }, userAgent: '' }));
}

function cluster(t: Translation, name: string): Cluster {
  const c = t.resources.cluster.find((r) => r.name === name)?.message;
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
}

function listener(t: Translation, name: string): Listener {
  const l = t.resources.listener.find((r) => r.name === name)?.message;
  if (!l) throw new Error(`no listener ${name}`);
  return l;
}

const WEB_80 = 'outbound|80||web.shop.svc.cluster.local';
const WEB_GRPC = 'outbound|50051||web.shop.svc.cluster.local';
const PODS = 'outbound|8080||pods.shop.svc.cluster.local';
const EXT = 'outbound|443||ext.shop.svc.cluster.local';

/** The TLS context packed in a transport socket, in the object form it was built from. */
function tlsContext<T>(socket: { readonly typed_config?: unknown } | null | undefined): T {
  return socket?.typed_config as T;
}

/** The JSON of a value with the `@type`s of its Anys, for comparing the parts that matter. */
const json = (v: unknown): unknown => (v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown));

describe('mTLS off', () => {
  it('changes nothing: the resources are those of a model that never heard of mTLS', () => {
    for (const t of [sidecar(model()), proxyless(model())]) {
      expect(JSON.stringify(t.resources)).not.toMatch(/transport_socket|tls_inspector|metadata|certificate_provider/);
    }
  });
});

describe('Envoy sidecars', () => {
  it('STRICT: every endpoint over TLS with the SDS certificate and trust bundle, the service’s identities, SNI and ALPN', () => {
    const t = sidecar(model('STRICT'));
    expect(json(cluster(t, WEB_80).transport_socket)).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: 'outbound_.80_._.web.shop.svc.cluster.local',
        common_tls_context: {
          alpn_protocols: ['trellis'],
          tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [
                { san_type: 'URI', matcher: { exact: 'spiffe://example.org/ns/shop/sa/web' } },
                { san_type: 'URI', matcher: { exact: 'spiffe://example.org/ns/shop/sa/web-old' } },
              ],
            },
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } },
          },
        },
      },
    });
    expect(cluster(t, WEB_80).transport_socket_matches).toBeUndefined();
  });

  it('offers h2 beside trellis on HTTP/2 ports (a gRPC server needs h2 negotiated)', () => {
    const ctx = tlsContext<{ common_tls_context: { alpn_protocols: string[] } }>(cluster(sidecar(model('STRICT')), WEB_GRPC).transport_socket);
    expect(ctx.common_tls_context.alpn_protocols).toEqual(['trellis', 'h2']);
  });

  it('STRICT on a headless service: TLS to whatever pod is dialled; with no pod known, any identity of the trust domain', () => {
    const ctx = tlsContext<{ common_tls_context: { combined_validation_context: { default_validation_context: unknown } } }>(
      cluster(sidecar(model('STRICT')), PODS).transport_socket,
    );
    expect(ctx.common_tls_context.combined_validation_context.default_validation_context).toEqual({
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://example.org/' } }],
    });
  });

  it('PERMISSIVE: a transport socket match picks TLS for endpoints in the mesh; the others fall back to plaintext', () => {
    const t = sidecar(model('PERMISSIVE'));
    const c = cluster(t, WEB_80);
    expect(c.transport_socket).toBeUndefined();
    expect(json(c.transport_socket_matches?.map((m) => ({ name: m.name, match: m.match })))).toEqual([
      { name: 'mesh-mtls', match: { fields: { 'trellis.dev/tls-mode': { stringValue: 'mesh' } } } },
    ]);
    const cla = t.resources.endpoint.find((r) => r.name === WEB_80)?.message;
    const eps = cla?.endpoints?.flatMap((l) => l.lb_endpoints ?? []) ?? [];
    expect(eps.map((e) => [e.endpoint?.address?.socket_address?.address, json(e.metadata)])).toEqual([
      ['10.1.0.1', { filter_metadata: { 'envoy.transport_socket_match': { fields: { 'trellis.dev/tls-mode': { stringValue: 'mesh' } } } } }],
      ['10.1.0.2', undefined],
    ]);
  });

  it('PERMISSIVE leaves headless (no endpoint metadata to match) and ExternalName (outside the mesh) clusters as they are without mTLS', () => {
    const off = sidecar(model());
    const on = sidecar(model('PERMISSIVE'));
    expect(cluster(on, PODS)).toEqual(cluster(off, PODS));
    expect(cluster(on, EXT)).toEqual(cluster(off, EXT));
    expect(cluster(sidecar(model('STRICT')), EXT)).toEqual(cluster(off, EXT));
  });

  it('inbound STRICT: one chain per port requiring a client certificate with a URI SAN in the trust domain; passthrough too', () => {
    const inbound = listener(sidecar(model('STRICT')), 'virtualInbound');
    expect(inbound.listener_filters?.map((f) => f.name)).toEqual(['envoy.filters.listener.original_dst']);
    expect(inbound.filter_chains?.map((c) => [c.name, json(c.filter_chain_match)])).toEqual([
      ['inbound|8080||mtls', { destination_port: { value: 8080 } }],
      ['inbound|50051||mtls', { destination_port: { value: 50051 } }],
    ]);
    const tls = tlsContext<{
      require_client_certificate: unknown;
      common_tls_context: { alpn_protocols: string[]; combined_validation_context: { default_validation_context: unknown } };
    }>(inbound.filter_chains?.[0]?.transport_socket);
    expect(tls.require_client_certificate).toEqual({ value: true });
    expect(tls.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(tls.common_tls_context.combined_validation_context.default_validation_context).toEqual({
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://example.org/' } }],
    });
    expect(inbound.default_filter_chain?.transport_socket).toBeDefined();
  });

  it('inbound PERMISSIVE: tls_inspector, and per port an mTLS chain matched on TLS with ALPN trellis before the plaintext one', () => {
    const inbound = listener(sidecar(model('PERMISSIVE')), 'virtualInbound');
    expect(inbound.listener_filters?.map((f) => f.name)).toEqual(['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);
    expect(inbound.filter_chains?.map((c) => [c.name, json(c.filter_chain_match), c.transport_socket !== undefined])).toEqual([
      ['inbound|8080||mtls', { destination_port: { value: 8080 }, transport_protocol: 'tls', application_protocols: ['trellis'] }, true],
      ['inbound|8080||', { destination_port: { value: 8080 } }, false],
      ['inbound|50051||mtls', { destination_port: { value: 50051 }, transport_protocol: 'tls', application_protocols: ['trellis'] }, true],
      ['inbound|50051||', { destination_port: { value: 50051 } }, false],
    ]);
    expect(inbound.default_filter_chain?.transport_socket).toBeUndefined();
  });

  it('a STRICT policy is among the sources of what it shaped: the cluster and the inbound listener', () => {
    const policy = `
---
apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: web-strict, namespace: shop }
spec: { targetRefs: [{ group: "", kind: Service, name: web, port: 80 }], mtls: { mode: STRICT } }
`;
    const t = sidecar(model('PERMISSIVE', policy));
    const sources = (kind: 'cluster' | 'listener', name: string) => t.resources[kind].find((r) => r.name === name)?.sources?.map((s) => `${s.kind} ${s.name}`);
    expect(sources('cluster', WEB_80)).toContain('TrafficPolicy web-strict');
    expect(sources('cluster', WEB_GRPC)).not.toContain('TrafficPolicy web-strict');
    expect(sources('listener', 'virtualInbound')).toContain('TrafficPolicy web-strict');
    expect(cluster(t, WEB_80).transport_socket).toBeDefined();
    expect(cluster(t, WEB_GRPC).transport_socket_matches).toBeDefined();
  });
});

describe('proxyless gRPC (gRFC A29)', () => {
  it('STRICT: the client’s cluster uses the bootstrap’s certificate provider and checks SANs with match_subject_alt_names', () => {
    const c = cluster(proxyless(model('STRICT')), WEB_GRPC);
    expect(json(c.transport_socket)).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'default' },
          validation_context: {
            ca_certificate_provider_instance: { instance_name: 'default' },
            match_subject_alt_names: [{ exact: 'spiffe://example.org/ns/shop/sa/web' }, { exact: 'spiffe://example.org/ns/shop/sa/web-old' }],
          },
        },
      },
    });
  });

  it('PERMISSIVE: the client speaks plaintext (one transport socket per cluster, and gRPC cannot offer ALPN trellis)', () => {
    const t = proxyless(model('PERMISSIVE'));
    expect(cluster(t, WEB_GRPC).transport_socket).toBeUndefined();
    expect(JSON.stringify(t.resources.endpoint)).not.toContain('metadata');
  });

  it('STRICT: a server’s listener requires a client certificate from the same provider; no SANs (gRPC servers do not check them)', () => {
    const l = listener(proxyless(model('STRICT')), 'grpc/server?xds.resource.listening_address=10.1.0.1:50051');
    expect(json(l.filter_chains?.[0]?.transport_socket)).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'default' },
          validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } },
        },
        require_client_certificate: { value: true },
      },
    });
    expect(l.listener_filters).toBeUndefined();
  });

  it('PERMISSIVE: a server serves plaintext, and a Pod labelled for the mesh gets a warning (sidecars would send it mTLS)', () => {
    const t = proxyless(model('PERMISSIVE'));
    const l = listener(t, 'grpc/server?xds.resource.listening_address=10.1.0.1:50051');
    expect(l.filter_chains?.map((c) => c.transport_socket)).toEqual([undefined]);
    expect(t.diagnostics.map((d) => [d.severity, d.object?.name, /on port (\d+) is PERMISSIVE and serves plaintext/.exec(d.message)?.[1]])).toEqual([
      ['warning', 'web-1', '50051'],
      ['warning', 'web-1', '8080'],
    ]);
    expect(proxyless(model('STRICT')).diagnostics).toEqual([]);
  });
});

describe('the encoded bytes', () => {
  it('an endpoint’s metadata carries trellis.dev/tls-mode: mesh as google.protobuf.Value field 3 (string_value), whatever a loader names it', () => {
    const cla = sidecar(model('PERMISSIVE')).resources.endpoint.find((r) => r.name === WEB_80)?.message;
    const bytes = encodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', cla ?? {});
    // Tag 0x1a = field 3, length-delimited; then the 4 bytes of "mesh".
    expect(Buffer.from(bytes).includes(Buffer.from([0x1a, 0x04, ...Buffer.from('mesh')]))).toBe(true);
    const back = decodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', bytes) as {
      endpoints: { lb_endpoints: { metadata?: { filter_metadata: Record<string, { fields: Record<string, unknown> }> } }[] }[];
    };
    expect(back.endpoints[0]?.lb_endpoints[0]?.metadata?.filter_metadata['envoy.transport_socket_match']?.fields).toEqual({
      'trellis.dev/tls-mode': { stringValue: 'mesh' },
    });
  });

  it('the TLS contexts travel inside their Anys (their types are in the same load as the resources)', () => {
    for (const [t, name] of [
      [sidecar(model('STRICT')), WEB_80],
      [proxyless(model('STRICT')), WEB_GRPC],
    ] as const) {
      const bytes = encodeMessage('envoy.config.cluster.v3.Cluster', cluster(t, name));
      const back = decodeMessage('envoy.config.cluster.v3.Cluster', bytes) as { transport_socket?: { typed_config?: Record<string, unknown> } };
      expect(back.transport_socket?.typed_config?.['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
      expect(back.transport_socket?.typed_config?.common_tls_context).toBeDefined();
    }
    const inbound = encodeMessage('envoy.config.listener.v3.Listener', listener(sidecar(model('PERMISSIVE')), 'virtualInbound'));
    const back = decodeMessage('envoy.config.listener.v3.Listener', inbound) as { listener_filters: { typed_config: Record<string, unknown> }[] };
    expect(back.listener_filters.map((f) => f.typed_config['@type'])).toContain(
      'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    );
  });
});
