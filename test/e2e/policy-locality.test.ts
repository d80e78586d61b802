/**
 * Locality-aware load balancing end to end: Trellis on a manifests directory; two xDS-enabled
 * grpc-js servers on loopback whose EndpointSlice endpoints are in zone-a (alpha) and zone-b
 * (beta); a TrafficPolicy with loadBalancing.localityAware on their Service; grpc-js-xds clients,
 * each in its own process, one in zone-a and one with no locality.
 *
 * The zone-a client sends every call to alpha (priority 0 for it; beta is priority 1). When the
 * zone-a endpoint turns not ready, its priority is gone and the calls go to beta; when it is ready
 * again, they come back. The client without a locality gets today's assignment: both servers.
 *
 * Each server also has its Pod, as in Kubernetes, so that it keeps its server listener (Trellis
 * derives one from each Pod's gRPC ports) while its endpoint is not ready: a pod that fails its
 * readiness still runs. Without the Pod, the server's only listener would come from its endpoint,
 * go away with it, and never be taken up again when it came back identical: grpc-js-xds 1.14 keeps
 * a deleted resource cached and ignores an update equal to it (grpc/grpc-node#3074), so the server
 * would refuse every connection from then on and the fail-back could not happen.
 *
 * Waiting is on events: every call is one, and each loop is bounded by a number of calls.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { startXdsClient, startXdsServer, type XdsBootstrapOptions, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { manifestsStore, type MeshStore } from './mesh-stores.ts';

const DEBOUNCE_MAX_MS = 200;
/** How many calls in a row must reach one server before the switch counts as done. */
const STREAK = 20;
/** The bound on the calls a switch may take (each a loopback round trip of about a millisecond: seconds at most). */
const MAX_CALLS = 3000;

const ZONE_A = { region: 'region-1', zone: 'zone-a' };

describe('locality-aware load balancing, end to end', () => {
  let store: MeshStore;
  let trellis: RunningTrellis;
  const servers: Record<string, XdsServerProcess> = {};
  const clients: XdsClientProcess[] = [];
  const proxyless = (): Record<string, string> => ({ PROXY_MODE: 'proxyless', NAMESPACE: store.namespace });

  /** Service greeter (50051), alpha in zone-a and beta in zone-b (one slice and one Pod each), the policy. */
  function mesh(alphaReady: boolean): string {
    const slice = (server: string, zone: string, ready: boolean): string => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: greeter-${server}, namespace: ${store.namespace}, labels: { kubernetes.io/service-name: greeter } }
addressType: IPv4
ports: [{ name: grpc, port: ${servers[server]?.port ?? 1} }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: ${ready} }
    zone: ${zone}
`;
    const pod = (server: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${server}, namespace: ${store.namespace}, labels: { app: greeter } }
spec:
  containers: [{ name: app, ports: [{ name: grpc, containerPort: ${servers[server]?.port ?? 1} }] }]
status: { podIP: 127.0.0.1 }
`;
    return [
      `apiVersion: v1
kind: Service
metadata: { name: greeter, namespace: ${store.namespace} }
spec:
  ports: [{ name: grpc, port: 50051 }]
`,
      slice('alpha', 'zone-a', alphaReady),
      slice('beta', 'zone-b', true),
      pod('alpha'),
      pod('beta'),
      `apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: greeter-near, namespace: ${store.namespace} }
spec:
  targetRefs: [{ group: '', kind: Service, name: greeter }]
  loadBalancing: { algorithm: roundRobin, localityAware: true }
`,
    ].join('---\n');
  }

  async function client(locality?: XdsBootstrapOptions['locality']): Promise<XdsClientProcess> {
    const c = await startXdsClient({
      xdsServer: `127.0.0.1:${trellis.xdsPort}`,
      nodeId: `client-${clients.length}.${store.namespace}`,
      nodeMetadata: proxyless(),
      ...(locality ? { locality } : {}),
      target: `xds:///greeter.${store.namespace}.svc.cluster.local:50051`,
    });
    clients.push(c);
    return c;
  }

  /**
   * Calls until STREAK calls in a row went to `server` (at most MAX_CALLS); every reply and every
   * failure on the way, in order.
   */
  async function callUntilStreak(c: XdsClientProcess, server: string): Promise<{ replies: string[]; failures: string[] }> {
    const replies: string[] = [];
    const failures: string[] = [];
    let streak = 0;
    for (let i = 0; i < MAX_CALLS && streak < STREAK; i++) {
      try {
        const reply = await c.call();
        replies.push(reply);
        streak = reply === `${server}:hello` ? streak + 1 : 0;
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
        streak = 0;
      }
    }
    if (streak < STREAK)
      console.log(
        'DEBUG',
        server,
        JSON.stringify(await servers.alpha?.status()),
        await (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/syncz?format=text`)).text(),
        await c.connectivityState(),
      );
    expect(streak, `calls to ${server}; last replies ${replies.slice(-5).join(', ')}`).toBe(STREAK);
    return { replies, failures };
  }

  beforeAll(async () => {
    store = await manifestsStore();
    const logger = pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' });
    const config = loadServeConfig(
      { manifests: 'unused', 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': String(DEBOUNCE_MAX_MS) },
      {},
    );
    trellis = await serve(config, logger, await store.source(logger));
    for (const name of ['alpha', 'beta']) {
      servers[name] = await startXdsServer({
        xdsServer: `127.0.0.1:${trellis.xdsPort}`,
        nodeId: `${name}.${store.namespace}`,
        nodeMetadata: proxyless(),
        name,
      });
    }
    await store.put('greeter.yaml', mesh(true));
    await Promise.all([servers.alpha?.waitServing(), servers.beta?.waitServing()]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await trellis?.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await store?.close();
  });

  it('sends every call of a zone-a client to the zone-a server', async () => {
    const c = await client(ZONE_A);
    expect(await c.callUntilOk(20_000)).toBe('alpha:hello');
    expect(await c.callMany(40)).toEqual({ ok: { 'alpha:hello': 40 }, errors: {} });
    expect((await servers.beta?.status())?.calls).toBe(0);
  });

  it('spreads the calls of a client without a locality over both zones', async () => {
    const c = await client();
    await c.callUntilOk(20_000);
    const tally = await c.callMany(40);
    expect(tally.errors).toEqual({});
    expect(tally.ok['alpha:hello']).toBeGreaterThan(0);
    expect(tally.ok['beta:hello']).toBeGreaterThan(0);
  });

  it('fails over to zone-b when the zone-a endpoint is not ready, and back when it is, with no call failing', async () => {
    const c = clients[0] ?? (await client(ZONE_A));
    await store.put('greeter.yaml', mesh(false));
    const away = await callUntilStreak(c, 'beta');
    expect(away.failures).toEqual([]);
    // Once on beta, it stays there.
    expect(await c.callMany(20)).toEqual({ ok: { 'beta:hello': 20 }, errors: {} });

    await store.put('greeter.yaml', mesh(true));
    const t0 = performance.now();
    const back = await callUntilStreak(c, 'alpha');
    console.log('failback', performance.now() - t0, back.replies.length, JSON.stringify(await servers.alpha?.status()));
    expect(back.failures).toEqual([]);
    expect(await c.callMany(20)).toEqual({ ok: { 'alpha:hello': 20 }, errors: {} });
  });
});
