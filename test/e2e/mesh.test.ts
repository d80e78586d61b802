/**
 * The mesh end to end, from two sources — a manifests directory and a real API server — with the
 * same scenarios against both: Trellis serves the mesh the test writes; xDS-enabled
 * @grpc/grpc-js-xds servers on loopback, described by its EndpointSlices, serve once Trellis sends
 * them their listener; @grpc/grpc-js-xds clients, each in its own process, make real RPCs through
 * the configuration Trellis serves them.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { startXdsClient, startXdsServer, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { kubeStore, manifestsStore, type MeshStore } from './mesh-stores.ts';

const DEBOUNCE_MAX_MS = 200;

interface Backend {
  readonly greeter: string;
  readonly ready?: boolean;
}

describe.each([
  ['a manifests directory', manifestsStore],
  ['a real API server', kubeStore],
])('the mesh, end to end, from %s', (_label, makeStore) => {
  let store: MeshStore;
  let trellis: RunningTrellis;
  const backends: Record<string, XdsServerProcess> = {};
  const clients: XdsClientProcess[] = [];
  const proxyless = (): Record<string, string> => ({ PROXY_MODE: 'proxyless', NAMESPACE: store.namespace });

  /**
   * A Service on port 50051 and, per backend, an EndpointSlice listing it on loopback (each backend
   * listens on its own port, and an EndpointSlice has one set of ports).
   */
  function service(name: string, members: readonly Backend[]): string {
    const slices = members.map(
      (b) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${b.greeter}, namespace: ${store.namespace}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: grpc, port: ${backends[b.greeter]?.port ?? 1} }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: ${b.ready ?? true} }
    zone: zone-a
`,
    );
    const svc = `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${store.namespace} }
spec:
  ports: [{ name: grpc, port: 50051 }]
`;
    return [svc, ...slices].join('---\n');
  }

  async function client(serviceName: string): Promise<XdsClientProcess> {
    const c = await startXdsClient({
      xdsServer: `127.0.0.1:${trellis.xdsPort}`,
      nodeId: `client-${clients.length}.${store.namespace}`,
      nodeMetadata: proxyless(),
      target: `xds:///${serviceName}.${store.namespace}.svc.cluster.local:50051`,
    });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    store = await makeStore();
    const logger = pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' });
    // The settings name a source; the store's source is the one used.
    const config = loadServeConfig(
      { manifests: 'unused', 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': String(DEBOUNCE_MAX_MS) },
      {},
    );
    trellis = await serve(config, logger, await store.source(logger));
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
      backends[name] = await startXdsServer({
        xdsServer: `127.0.0.1:${trellis.xdsPort}`,
        nodeId: `${name}.${store.namespace}`,
        nodeMetadata: proxyless(),
        name,
      });
    }
    await store.put('greeter.yaml', service('greeter', [{ greeter: 'alpha' }, { greeter: 'beta' }, { greeter: 'gamma', ready: false }]));
    // The servers serve once Trellis has sent them their listeners (gamma, not ready, gets none).
    await Promise.all([backends.alpha?.waitServing(), backends.beta?.waitServing()]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await trellis?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    await store?.close();
  });

  it('sends a call to the right service, spread over every ready endpoint and none to a not-ready one', async () => {
    const c = await client('greeter');
    expect(await c.callUntilOk(20_000)).toMatch(/^(alpha|beta):hello$/);
    const tally = await c.callMany(40);
    expect(tally.errors).toEqual({});
    expect(tally.ok['alpha:hello']).toBeGreaterThan(0);
    expect(tally.ok['beta:hello']).toBeGreaterThan(0);
    expect((await backends.gamma?.status())?.calls).toBe(0);
  });

  it('stops sending calls to a removed endpoint within the debounce window, and no call fails', async () => {
    const c = clients[0] ?? (await client('greeter'));
    const written = performance.now();
    await store.put('greeter.yaml', service('greeter', [{ greeter: 'alpha' }, { greeter: 'gamma', ready: false }]));
    // Every call is an event: call until twenty in a row went to alpha.
    let streak = 0;
    let lastBeta = written;
    for (let i = 0; i < 2000 && streak < 20; i++) {
      const reply = await c.call();
      if (reply === 'beta:hello') {
        lastBeta = performance.now();
        streak = 0;
      } else streak++;
    }
    expect(streak).toBe(20);
    // The watch, the debounce window and the push: well within a second.
    expect(lastBeta - written).toBeLessThan(DEBOUNCE_MAX_MS + 800);
    const betaCalls = (await backends.beta?.status())?.calls;
    expect(await c.callMany(20)).toEqual({ ok: { 'alpha:hello': 20 }, errors: {} });
    expect((await backends.beta?.status())?.calls).toBe(betaCalls);
  });

  it('makes a service added while clients run reachable', async () => {
    const waiting = await client('hello');
    await expect(waiting.call({ deadlineMs: 300 })).rejects.toThrow();
    await store.put('hello.yaml', service('hello', [{ greeter: 'delta' }]));
    expect(await waiting.callUntilOk(20_000)).toBe('delta:hello');
  });

  it('keeps serving what worked when the input breaks, and says what is wrong', async () => {
    const c = clients[0] ?? (await client('greeter'));
    const expected = await store.breakGreeter(service('greeter', [{ greeter: 'alpha' }]));
    const debug = `http://127.0.0.1:${trellis.debugPort}/debug/configz?format=text`;
    // Wait for the bad version to be read: configz names every problem once it has been.
    let report = '';
    for (let i = 0; i < 200 && !expected.every((re) => re.test(report)); i++) {
      report = await (await fetch(debug)).text();
      await c.call();
    }
    for (const re of expected) expect(report).toMatch(re);
    expect(await c.callMany(20)).toEqual({ ok: { 'alpha:hello': 20 }, errors: {} });
  });
});
