/**
 * Authorization as grpc-js-xds 1.14 takes it (gRFC A41), with its own code: its listener decoding
 * and validation accept a server listener carrying Trellis's RBAC filters; its RBAC evaluation
 * (http-filter/rbac-filter.js, rbac.js) decides each call as the README says; and a running server
 * sees every change of its authorization (no grpc-js-xds 1.14 workaround is needed: the filters sit
 * before the router in a list, so a change never only appends bytes to what the server holds).
 *
 * grpc-js-xds 1.14 registers its RBAC filter only when GRPC_XDS_EXPERIMENTAL_RBAC=true, read once
 * when it loads: set here before it is imported (vitest runs each test file in a process of its own).
 * Without it a server rejects such a listener (shown for real in test/e2e/proxyless-authorization.test.ts).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/envoy/codec.ts';
import { messageNameOf, TypeUrl } from '../../src/envoy/types.ts';
import { buildModel, DEFAULT_MODEL_OPTIONS } from '../../src/model/build.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import { renderTestBootstrap } from '../support/xds-app.ts';

process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
const grpc = await import('@grpc/grpc-js');
const grpcXds = await import('@grpc/grpc-js-xds');
grpcXds.register();

const require = createRequire(import.meta.url);
const BUILD = '@grpc/grpc-js-xds/build/src';

interface Any {
  type_url: string;
  value: Buffer;
}
interface ResourceType {
  decode(context: object, resource: Any): { value?: object; error?: string };
  resourcesEqual(held: object | null, received: object | null): boolean;
}
interface RbacInfo {
  destinationIp: string;
  destinationPort: number;
  sourceIp: string;
  headers: InstanceType<typeof grpc.Metadata>;
  tls: boolean;
  peerCertificate: { subjectaltname?: string; subject: { CN?: string } } | null;
  urlPath: string;
}
type Parsed = { config: { apply(info: RbacInfo): boolean } } | null;

const LISTENERS = (
  require(`${BUILD}/xds-resource-type/listener-resource-type.js`) as { ListenerResourceType: { get(): ResourceType } }
).ListenerResourceType.get();
const { decodeSingleResource, HTTP_CONNECTION_MANGER_TYPE_URL } = require(`${BUILD}/resources.js`) as {
  decodeSingleResource: (url: string, bytes: Buffer) => { http_filters: { name: string; typed_config: Any }[] };
  HTTP_CONNECTION_MANGER_TYPE_URL: string;
};
const { parseTopLevelFilterConfig } = require(`${BUILD}/http-filter.js`) as { parseTopLevelFilterConfig: (any: Any, client: boolean) => Parsed };
const { validateBootstrapConfig } = require(`${BUILD}/xds-bootstrap.js`) as { validateBootstrapConfig: (o: object) => { xdsServers: object[] } };
const PROVIDERS = {
  default: {
    plugin_name: 'file_watcher',
    config: { certificate_file: '/nowhere/tls.crt', private_key_file: '/nowhere/tls.key', ca_certificate_file: '/nowhere/ca.crt', refresh_interval: '60s' },
  },
};
const BOOTSTRAP = validateBootstrapConfig(renderTestBootstrap({ xdsServer: '127.0.0.1:1', nodeId: 'rbac', certificateProviders: PROVIDERS }));
const CONTEXT = { server: BOOTSTRAP.xdsServers[0], bootstrap: BOOTSTRAP };

const GREETER = `
apiVersion: v1
kind: Service
metadata: { name: greeter, namespace: apps }
spec: { clusterIP: 10.96.3.10, selector: { app: greeter }, ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: greeter-0, namespace: apps, labels: { app: greeter } }
spec: { serviceAccountName: greeter, containers: [{ name: app, ports: [{ name: grpc, containerPort: 50051 }] }] }
status: { podIP: 10.3.0.1 }
`;
const LISTENER = 'grpc/server?xds.resource.listening_address=10.3.0.1:50051';

function policyYaml(name: string, authorization: object): string {
  const doc = {
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: 'apps' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: 'greeter' }], authorization },
  };
  return `---\n${JSON.stringify(doc)}\n`;
}

/** The server listener Trellis serves greeter-0 (workload certificates on, STRICT), with these policies. */
function listener(...policies: string[]): object {
  const parsed = parseManifests([{ path: 'mesh.yaml', text: GREETER + policies.join('') }]);
  const model = buildModel(parsed.inputs, { ...DEFAULT_MODEL_OPTIONS, mtls: { enabled: true, defaultMode: 'STRICT' } });
  expect(model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const l = translateProxyless(model, { mode: 'proxyless', namespace: 'apps' }).resources.listener.find((r) => r.name === LISTENER);
  if (!l) throw new Error('no server listener');
  return l.message;
}

/** What grpc-js-xds makes of the listener: its decoded form (or why it rejects it). */
function decoded(message: object): object {
  const url = TypeUrl.listener;
  const result = LISTENERS.decode(CONTEXT, { type_url: url, value: Buffer.from(encodeMessage(messageNameOf(url), message)) });
  if (!result.value) throw new Error(`grpc-js-xds rejects it: ${result.error ?? '?'}`);
  return result.value;
}

/** The server's decision on a call, by grpc-js-xds's own RBAC filters, in the listener's order. */
function decides(message: object, caller: { san?: string; cn?: string; plaintext?: boolean }, path = '/helloworld.Greeter/SayHello'): 'allowed' | 'denied' {
  const l = decoded(message) as { filter_chains: { filters: { typed_config: Any }[] }[] };
  const hcm = decodeSingleResource(HTTP_CONNECTION_MANGER_TYPE_URL, l.filter_chains[0]?.filters[0]?.typed_config.value ?? Buffer.alloc(0));
  const headers = new grpc.Metadata();
  headers.set(':method', 'POST');
  headers.set(':path', path);
  const info: RbacInfo = {
    destinationIp: '10.3.0.1',
    destinationPort: 50051,
    sourceIp: '10.3.9.9',
    headers,
    tls: !caller.plaintext,
    peerCertificate: caller.plaintext ? null : { ...(caller.san ? { subjectaltname: `URI:${caller.san}` } : {}), subject: caller.cn ? { CN: caller.cn } : {} },
    urlPath: path,
  };
  for (const f of hcm.http_filters.slice(0, -1)) {
    const parsed = parseTopLevelFilterConfig(f.typed_config, false);
    if (!parsed) throw new Error(`grpc-js-xds cannot parse ${f.name}`);
    if (!parsed.config.apply(info)) return 'denied';
  }
  return 'allowed';
}

const id = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const DENY_UNTRUSTED = policyYaml('no-untrusted', { action: 'DENY', rules: [{ from: [{ namespaces: ['untrusted'] }] }] });
const CALLERS = policyYaml('callers', {
  action: 'ALLOW',
  rules: [
    { from: [{ identities: [id('apps', 'client'), id('ops', 'batch-*')] }], to: [{ paths: [{ type: 'Exact', value: '/helloworld.Greeter/SayHello' }] }] },
    { from: [{ namespaces: ['apps'] }], to: [{ paths: [{ type: 'PathPrefix', value: '/helloworld.Admin' }], methods: ['POST'] }] },
  ],
});

describe('grpc-js-xds 1.14 (GRPC_XDS_EXPERIMENTAL_RBAC=true) takes the authorization of a server listener', () => {
  it('accepts the listener: its RBAC filters validate, DENY then ALLOW then the router', () => {
    const l = decoded(listener(DENY_UNTRUSTED, CALLERS)) as { filter_chains: { filters: { typed_config: Any }[] }[] };
    const hcm = decodeSingleResource(HTTP_CONNECTION_MANGER_TYPE_URL, l.filter_chains[0]?.filters[0]?.typed_config.value ?? Buffer.alloc(0));
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac.deny', 'envoy.filters.http.rbac.allow', 'envoy.filters.http.router']);
  });

  it.each<[string, { san?: string; cn?: string; plaintext?: boolean }, string, 'allowed' | 'denied']>([
    ['the client identity, SayHello', { san: id('apps', 'client') }, '/helloworld.Greeter/SayHello', 'allowed'],
    ['the client identity, another method', { san: id('apps', 'client') }, '/helloworld.Greeter/SayGoodbye', 'denied'],
    ['a batch-* service account of ops (prefix)', { san: id('ops', 'batch-nightly') }, '/helloworld.Greeter/SayHello', 'allowed'],
    ['ops, another service account', { san: id('ops', 'reporter') }, '/helloworld.Greeter/SayHello', 'denied'],
    ['any workload of apps, under /helloworld.Admin/ (a POST, as every gRPC call)', { san: id('apps', 'tool') }, '/helloworld.Admin/Reset', 'allowed'],
    ['any workload of apps, /helloworld.AdminX/Reset (not the same segment)', { san: id('apps', 'tool') }, '/helloworld.AdminX/Reset', 'denied'],
    ['a namespace whose name only starts with apps', { san: id('apps-evil', 'client') }, '/helloworld.Admin/Reset', 'denied'],
    ['the untrusted namespace, whatever allows it', { san: id('untrusted', 'client') }, '/helloworld.Greeter/SayHello', 'denied'],
    ['a plaintext caller (no certificate): no identity, no namespace', { plaintext: true }, '/helloworld.Greeter/SayHello', 'denied'],
  ])('%s: %s', (_what, caller, path, expected) => {
    expect(decides(listener(DENY_UNTRUSTED, CALLERS), caller, path)).toBe(expected);
  });

  it('matches principal_name against the subject CN when no URI SAN matches (Envoy uses the URI SAN when there is one): mesh certificates have an empty subject', () => {
    // A description of grpc-js-xds 1.14 (rbac.js AuthenticatedPrincipal), not a workaround: Trellis's
    // CSRs carry an empty subject and only the URI SAN (src/certs/csr.ts).
    expect(decides(listener(CALLERS), { san: id('apps', 'other'), cn: id('apps', 'client') })).toBe('allowed');
  });

  it('a running server sees every change of its authorization (grpc-js-xds compares by the held resource’s keys and bytes)', () => {
    const steps = [
      listener(),
      listener(CALLERS),
      listener(CALLERS.replace('batch-*', 'batch-x*')),
      listener(CALLERS, policyYaml('more', { action: 'ALLOW', rules: [{ to: [{ paths: [{ type: 'Exact', value: '/x' }] }] }] })),
      listener(DENY_UNTRUSTED, CALLERS),
      listener(DENY_UNTRUSTED),
      listener(),
    ];
    const unchanged = steps.slice(1).map((received, i) => LISTENERS.resourcesEqual(decoded(steps[i] as object), decoded(received)));
    expect(unchanged).toEqual(steps.slice(1).map(() => false));
  });
});
