/**
 * Proxyless translation against the real thing: grpc-js-xds clients and an xDS-enabled server, in
 * their own processes, configured by an in-process ADS server serving translateProxyless's output
 * for their namespace, identified by nodes rendered from envoy-bootstrap/proxyless.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBootstrap } from '../../src/bootstrap/render.ts';
import type { MeshModel, ModelEndpoint, ModelService } from '../../src/model/types.ts';
import { classifyNode, proxyClassOf } from '../../src/translate/proxy.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import type { Translation } from '../../src/translate/translation.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { startGreeter, startXdsClient, startXdsServer, type Greeter, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';

const NS = 'default';
/** The class of every proxy here: the bootstrap gives each node the locality zone-a (see identity). */
const PROXY = { mode: 'proxyless', namespace: NS, locality: { region: '', zone: 'zone-a', subZone: '' } } as const;

let t: TestServer;
let greeter: Greeter;
let xdsServer: XdsServerProcess;
let translation: Translation;
const clients: XdsClientProcess[] = [];

/** The node a pod's proxyless bootstrap gives it, as the harness takes it. */
function identity(pod: string): { xdsServer: string; nodeId: string; nodeMetadata: Record<string, string>; locality: { region?: string; zone?: string } } {
  const [host = '', port = '0'] = t.address.split(':');
  const b = renderBootstrap({
    mode: 'proxyless',
    xdsAddress: { host, port: Number(port) },
    namespace: NS,
    pod,
    ip: '127.0.0.1',
    serviceAccount: 'e2e',
    zone: 'zone-a',
  });
  const node = b.object.node as { id: string; metadata: Record<string, string>; locality: { region?: string; zone?: string } };
  expect((b.object.xds_servers as { server_uri: string }[])[0]?.server_uri).toBe(t.address);
  return { xdsServer: t.address, nodeId: node.id, nodeMetadata: node.metadata, locality: node.locality };
}

function endpoint(port: number, ready = true): ModelEndpoint {
  return {
    address: '127.0.0.1',
    port,
    ready,
    locality: { region: '', zone: 'zone-a', subZone: '' },
    source: { kind: 'EndpointSlice', namespace: NS, name: 'e2e' },
  };
}

function service(name: string, port: number, endpoints: ModelEndpoint[]): ModelService {
  return {
    namespace: NS,
    name,
    hostname: `${name}.${NS}.svc.cluster.local`,
    kind: 'ClusterIP',
    selector: { app: name },
    ports: [{ name: 'grpc', port, protocol: 'grpc', targetPort: 'grpc', endpoints }],
    source: { kind: 'Service', namespace: NS, name },
  };
}

/**
 * greeter → the plain Greeter; legacy → the same, but only as a terminating-serving fallback;
 * ext → the same again, as an ExternalName service for localhost; echo → the xDS-enabled server.
 */
function mesh(greeterPort: number, serverPort: number): MeshModel {
  const ext: ModelService = { ...service('ext', greeterPort, []), kind: 'ExternalName', externalName: 'localhost', selector: {} };
  return {
    domain: 'cluster.local',
    trustDomain: 'cluster.local',
    services: [
      service('echo', 7070, [endpoint(serverPort)]),
      ext,
      service('greeter', 50051, [endpoint(greeterPort)]),
      service('legacy', 9000, [endpoint(greeterPort, false)]),
    ],
    workloads: [],
    policies: [],
    diagnostics: [],
  };
}

async function client(pod: string, target: string): Promise<XdsClientProcess> {
  const c = await startXdsClient({ ...identity(pod), target });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  t = await startTestServer({ classify: classifyNode });
  greeter = await startGreeter('alpha');
  // It asks for its listener at once; Trellis answers once the cache is ready.
  xdsServer = await startXdsServer({ ...identity('echo-0'), name: 'beta' });
  translation = translateProxyless(mesh(greeter.port, xdsServer.port), PROXY);
  expect(t.cache.set(proxyClassOf(PROXY), translation.resources)).toEqual([]);
  t.cache.markReady();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await xdsServer?.close();
  await greeter?.close();
  await t?.close();
});

describe('grpc-js-xds clients configured by translateProxyless', () => {
  it('translates the mesh without errors', () => {
    expect(translation.diagnostics).toEqual([]);
  });

  it.each([
    ['the service FQDN', 'client-fqdn', 'xds:///greeter.default.svc.cluster.local:50051'],
    ['name.namespace', 'client-ns', 'xds:///greeter.default:50051'],
    ['the short name, from the same namespace', 'client-short', 'xds:///greeter:50051'],
  ])('reach the greeter dialling %s', async (_what, pod, target) => {
    const c = await client(pod, target);
    expect(await c.callUntilOk(20_000)).toBe('alpha:hello');
    expect(await c.callMany(5)).toEqual({ ok: { 'alpha:hello': 5 }, errors: {} });
  });

  it('use a terminating-but-serving endpoint when it is all there is', async () => {
    const c = await client('client-fallback', 'xds:///legacy:9000');
    expect(await c.callUntilOk(20_000)).toBe('alpha:hello');
  });

  it('reach an ExternalName service through its LOGICAL_DNS cluster', async () => {
    const c = await client('client-ext', `xds:///ext:${greeter.port}`);
    expect(await c.callUntilOk(20_000)).toBe('alpha:hello');
  });
});

describe('an xDS-enabled grpc-js server configured by translateProxyless', () => {
  it('serves once Trellis sent the listener for its address, and a client reaches it through xDS', async () => {
    expect(translation.resources.listener.map((l) => l.name)).toContain(xdsServer.listenerName);
    await xdsServer.waitServing(20_000);
    const c = await client('client-echo', 'xds:///echo.default.svc.cluster.local:7070');
    expect(await c.callUntilOk(20_000)).toBe('beta:hello');
    expect((await xdsServer.status()).calls).toBeGreaterThan(0);
  });

  it('drew no NACK from any of them', () => {
    expect(t.counts.nacked).toBe(0);
    expect(t.counts.acked).toBeGreaterThan(0);
  });
});
