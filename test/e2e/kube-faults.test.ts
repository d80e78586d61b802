/**
 * Trellis against a real API server that misbehaves, with real gRPC traffic. Trellis reads the API
 * server through the fault proxy, as a ServiceAccount bound to exactly KUBE_RBAC_RULES, in a fresh
 * namespace; a Service `greeter` has three ready endpoints, each an xDS-enabled gRPC server on
 * loopback; a @grpc/grpc-js-xds client calls it without pause while the proxy drops and expires
 * watches, fails lists, refuses connections, and while the API server is really restarted and etcd
 * really compacted. In every scenario no call fails, and the greeter's ClusterLoadAssignment that
 * Trellis serves never has fewer endpoints than the test put there.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { startKubeSource, type KubeSource, type KubeSourceState } from '../../src/sources/kube/index.ts';
import type { StartSource } from '../../src/sources/source.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startXdsClient, startXdsServer, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { admin, endpoints, FAST_BACKOFF, names, Recorder, TRAFFIC_POLICY_CRD, trellisKubeConfig, type Admin } from '../sources/kube-support.ts';
import { EndpointLog, statsDelta, Traffic, watchesBack, WATCHES, within, type Kind } from './kube-faults-support.ts';

const BACKENDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'] as const;
type Backend = (typeof BACKENDS)[number];
const INITIAL: readonly Backend[] = ['alpha', 'beta', 'gamma'];

describe('Trellis under API server faults, with gRPC calls running', () => {
  let env: Envtest;
  let api: Admin;
  let proxy: FaultProxy;
  let ns: string;
  let trellis: RunningTrellis;
  let source: KubeSource;
  let client: XdsClientProcess;
  let served: EndpointLog;
  let traffic: Traffic | undefined;
  const changes = new Recorder();
  const backends = {} as Record<Backend, XdsServerProcess>;

  const slice = (b: Backend): V1EndpointSlice => ({
    metadata: { name: `greeter-${b}`, labels: { 'kubernetes.io/service-name': 'greeter' } },
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port: backends[b].port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, zone: 'zone-a' }],
  });
  /** Written to the API server directly, never through the proxy. */
  const addEndpoint = (b: Backend) => api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice(b) });
  const hasEndpoint = (s: KubeSourceState, b: Backend) => endpoints(s).includes(`greeter-${b}:127.0.0.1`);

  /** Calls one at a time until `b` answers one (each call is an event); says how many it took. */
  async function callUntilServedBy(b: Backend, max = 2000): Promise<number> {
    for (let i = 1; i <= max; i++) if ((await client.call()) === `${b}:hello`) return i;
    throw new Error(`${b} answered none of ${max} calls`);
  }

  const configz = async () => (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/configz?format=text`)).text();

  beforeAll(async () => {
    env = await sharedEnvtest();
    await env.installCrds([TRAFFIC_POLICY_CRD]);
    api = admin(env);
    ns = await env.namespace('e2e-faults');
    proxy = await startFaultProxy({ url: env.url, caPem: env.caPem });
    const kubeConfig = await trellisKubeConfig(env, ns, proxy.url);
    const logger = pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' });
    const start: StartSource = async (onChange) => {
      const tell = (s: KubeSourceState): void => {
        onChange(s);
        changes.onChange(s);
      };
      source = await startKubeSource({ kubeConfig, namespaces: [ns], logger, relistBackoff: FAST_BACKOFF })(tell);
      changes.latest = source.current();
      return source;
    };
    const config = loadServeConfig(
      { manifests: 'unused', 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' },
      {},
    );
    trellis = await serve(config, logger, start);
    served = new EndpointLog(trellis.cache, `proxyless/${ns}`, `outbound|50051||greeter.${ns}.svc.cluster.local`);

    const xds = { xdsServer: `127.0.0.1:${trellis.xdsPort}`, nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: ns } };
    const started = await Promise.all(BACKENDS.map((name) => startXdsServer({ ...xds, nodeId: `${name}.${ns}`, name })));
    started.forEach((s, i) => (backends[BACKENDS[i] as Backend] = s));
    await api.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'greeter' }, spec: { ports: [{ name: 'grpc', port: 50051 }] } } });
    for (const b of INITIAL) await addEndpoint(b);
    client = await startXdsClient({ ...xds, nodeId: `client.${ns}`, target: `xds:///greeter.${ns}.svc.cluster.local:50051` });
    await Promise.all(INITIAL.map((b) => backends[b].waitServing()));
    await served.reach(3);
    // Every backend answers before any fault: a call that fails later is the faults' doing.
    for (const b of INITIAL) await callUntilServedBy(b);
  }, 90_000);

  beforeEach(() => {
    served.shrinks = [];
    traffic = new Traffic(client);
  });

  afterEach(async () => {
    // A failed test must not leave its fault behind for the next one.
    proxy.allow();
    proxy.setDelay(0);
    await traffic?.stop().catch(() => undefined);
    traffic = undefined;
  });

  afterAll(async () => {
    await client?.close();
    await trellis?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    await proxy?.close();
  });

  /** The end of every scenario: no call failed, calls went to every endpoint, the set never shrank. */
  async function noCallFailedNoShrink(expectedBackends: readonly Backend[]): Promise<void> {
    const tally = await (traffic as Traffic).stop();
    traffic = undefined;
    // One assertion, so that a failure shows both.
    expect({ errors: tally.errors, shrinks: served.shrinks }).toEqual({ errors: {}, shrinks: [] });
    for (const b of expectedBackends) expect(tally.ok[`${b}:hello`] ?? 0).toBeGreaterThan(0);
  }

  it('drops every watch (reset, then a clean end) again and again: the watches resume without a relist', async () => {
    const run = traffic as Traffic;
    const before = source.stats();
    const listsBefore = proxy.stats().lists;
    const modes = ['reset', 'end', 'reset', 'end', 'reset', 'end'] as const;
    for (const mode of modes) {
      const back = watchesBack(proxy, () => true);
      expect(proxy.dropWatches(mode)).toBe(WATCHES.length);
      await Promise.all([back, run.next()]);
    }
    // The resumed watches deliver what happens next.
    await api.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'probe' }, spec: { ports: [{ name: 'grpc', port: 50051 }] } } });
    await changes.until('probe seen', (s) => names(s, 'services').includes(`${ns}/probe`));
    const delta = statsDelta(source, before);
    for (const [kind] of WATCHES) expect(delta[kind]).toMatchObject({ lists: 0, relists: 0, listFailures: 0, watchEnds: modes.length });
    expect(proxy.stats().lists).toBe(listsBefore);
    await noCallFailedNoShrink(INITIAL);
  });

  it('relists after watches expire (410 Gone events), twice, and swaps the lists in without shrinking', async () => {
    const run = traffic as Traffic;
    const before = source.stats();
    for (const round of [1, 2]) {
      const back = watchesBack(proxy, (kind) => source.stats()[kind].relists >= before[kind].relists + round);
      expect(proxy.expireWatches()).toBe(WATCHES.length);
      await Promise.all([back, run.next()]);
    }
    const delta = statsDelta(source, before);
    for (const [kind] of WATCHES) expect(delta[kind]).toMatchObject({ relists: 2, expired: 2 });
    expect(source.current().connected).toBe(true);
    await noCallFailedNoShrink(INITIAL);
  });

  it('relists through failing lists (500s, and a 429 with Retry-After) after the watches expire', async () => {
    const run = traffic as Traffic;
    const before = source.stats();
    const statesBefore = changes.states.length;
    const list = (plural: string) => (r: { method: string; path: string; query: URLSearchParams }) =>
      r.method === 'GET' && r.path.endsWith(`/${plural}`) && !r.query.has('watch');
    proxy.failNext(3, 500, { match: list('endpointslices') });
    proxy.failNext(1, 429, { match: list('services'), retryAfterSeconds: 1 });
    const relisted = (kind: Kind) => source.stats()[kind].relists > before[kind].relists;
    const back = watchesBack(proxy, relisted);
    // A services list that failed opens no watch: the first services watch comes after the relist.
    const servicesBack = proxy.nextWatch('/services?').then(() => performance.now());
    const expired = performance.now();
    expect(proxy.expireWatches()).toBe(WATCHES.length);
    await Promise.all([back, run.next()]);

    const delta = statsDelta(source, before);
    expect(delta.endpointSlices).toMatchObject({ relists: 1, listFailures: 3 });
    expect(delta.services).toMatchObject({ relists: 1, listFailures: 1 });
    for (const [kind] of WATCHES) expect(delta[kind]).toMatchObject({ relists: 1, expired: 1 });
    // The 429 asked for a second; the backoff alone is at most 400 ms.
    expect((await servicesBack) - expired).toBeGreaterThanOrEqual(1000);
    // Out of step while the lists failed, in step again after.
    expect(changes.states.slice(statesBefore).some((s) => !s.connected)).toBe(true);
    expect(source.current().connected).toBe(true);
    await noCallFailedNoShrink(INITIAL);
  });

  it('keeps serving while the API server is unreachable, says so, and catches up when it is back', async () => {
    const run = traffic as Traffic;
    const down = changes.until('disconnected', (s) => !s.connected);
    proxy.refuse();
    expect((await down).reason).toMatch(/ECONNREFUSED/);
    expect(source.current().connected).toBe(false);
    expect(await configz()).toMatch(/source disconnected, serving the last known state: .*ECONNREFUSED/);

    // The mesh changes meanwhile, behind Trellis's back; calls carry on with what it knew.
    await addEndpoint('delta');
    await run.next(3);
    expect(source.current().connected).toBe(false);
    expect(served.current()).toBe(3);

    const up = changes.until('reconnected, delta seen', (s) => s.connected && hasEndpoint(s, 'delta'));
    proxy.allow();
    await up;
    await served.reach(4);
    await backends.delta.waitServing();
    await callUntilServedBy('delta');
    expect(await configz()).not.toMatch(/source disconnected/);
    await noCallFailedNoShrink([...INITIAL, 'delta']);
  });

  it('keeps serving while the API server is really stopped and started again, then sees changes made after', async () => {
    const run = traffic as Traffic;
    const batchesAtStop = run.batches;
    // Whether Trellis sees the outage as a failed request depends on timing (a watch that is
    // re-established after the server is back never fails), so it is not required here; what is
    // required is that calls go on while the server is down and that changes after it arrive.
    await env.restartApiServer();
    expect(run.batches).toBeGreaterThan(batchesAtStop);
    await changes.until('connected', (s) => s.connected, 60_000);

    await addEndpoint('epsilon');
    await changes.until('epsilon seen', (s) => hasEndpoint(s, 'epsilon'));
    await served.reach(5);
    await backends.epsilon.waitServing();
    await callUntilServedBy('epsilon');
    await noCallFailedNoShrink([...INITIAL, 'delta', 'epsilon']);
  }, 90_000);

  it('relists when etcd has compacted the resourceVersion a watch resumes from (a real 410 Gone)', async () => {
    const run = traffic as Traffic;
    const before = source.stats();
    // Two writes elsewhere, so that the watches' next revision is older than the compaction.
    await env.namespace('advance');
    await env.namespace('advance');
    await env.compact();
    const back = watchesBack(proxy, (kind) => source.stats()[kind].relists > before[kind].relists);
    proxy.dropWatches('end');
    await within(20_000, 'relisted', Promise.all([back, run.next()]));

    const delta = statsDelta(source, before);
    for (const [kind] of WATCHES) {
      expect(delta[kind]?.expired).toBeGreaterThanOrEqual(1);
      expect(delta[kind]?.relists).toBeGreaterThanOrEqual(1);
    }
    expect(served.current()).toBe(5);
    await noCallFailedNoShrink([...INITIAL, 'delta', 'epsilon']);
  });
});
