import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedEnvtest, type Envtest } from './envtest.ts';
import { openWatch, startFaultProxy, type FaultProxy } from './fault-proxy.ts';

function coreApi(kubeconfig: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

const service = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the request to fail');
}

describe('fault proxy', () => {
  let env: Envtest;
  let proxy: FaultProxy;
  let namespace: string;
  let viaProxy: string; // a kubeconfig for the proxy's plain-HTTP URL, authenticated by a ServiceAccount token
  let core: CoreV1Api; // through the proxy
  let admin: CoreV1Api; // direct
  const path = () => `/api/v1/namespaces/${namespace}/services`;

  beforeAll(async () => {
    env = await sharedEnvtest();
    proxy = await startFaultProxy(env);
    admin = coreApi(env.adminKubeconfig);
  });
  afterAll(async () => {
    await proxy?.close();
  });
  beforeEach(async () => {
    proxy.setDelay(0);
    proxy.allow();
    namespace = await env.namespace('proxy');
    viaProxy = await env.serviceAccountKubeconfig({
      namespace,
      name: 'client',
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] }],
      server: proxy.url,
    });
    core = coreApi(viaProxy);
  });

  /** A watch through the proxy from the current list's resourceVersion, open once the proxy saw it answered. */
  async function watchServices() {
    const rv = (await core.listNamespacedService({ namespace })).metadata?.resourceVersion;
    const opened = proxy.nextWatch(namespace);
    const watch = await openWatch(viaProxy, path(), { resourceVersion: rv });
    await opened;
    return watch;
  }

  it('forwards a list (plain HTTP in, HTTPS out) and counts it', async () => {
    await admin.createNamespacedService({ namespace, body: service('a') });
    const before = proxy.stats();
    const list = await core.listNamespacedService({ namespace });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['a']);
    expect(proxy.stats()).toMatchObject({ requests: before.requests + 1, lists: before.lists + 1, watches: before.watches });
    expect(await core.readNamespacedService({ namespace, name: 'a' })).toMatchObject({ metadata: { name: 'a' } });
    expect(proxy.stats().lists).toBe(before.lists + 1); // a get is not a list
  });

  it('streams a watch: an added object arrives; dropWatches ends it (reset, and clean end)', async () => {
    const watches = proxy.stats().watches;
    const watch = await watchServices();
    expect(proxy.stats().watches).toBe(watches + 1);
    await admin.createNamespacedService({ namespace, body: service('b') });
    expect(await watch.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
    expect(proxy.dropWatches()).toBeGreaterThanOrEqual(1);
    expect(await watch.ended).toBeInstanceOf(Error); // the connection was dropped

    const second = await watchServices();
    expect(proxy.dropWatches('end')).toBeGreaterThanOrEqual(1);
    expect(await second.ended).toBeNull(); // a normal end of the stream
  });

  it('expireWatches delivers a 410 Expired ERROR event and ends the stream', async () => {
    const watch = await watchServices();
    expect(proxy.expireWatches()).toBeGreaterThanOrEqual(1);
    const event = await watch.next();
    expect(event).toEqual({
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' },
    });
    expect(await watch.ended).toBeNull();
  });

  it('failNext(1, 500) fails exactly one matching request with a Status body', async () => {
    proxy.failNext(1, 500, { match: (r) => r.method === 'GET' && r.path === path() });
    const e = await failure(core.listNamespacedService({ namespace }));
    expect(e).toBeInstanceOf(ApiException);
    const err = e as ApiException<string>;
    expect(err.code).toBe(500);
    expect(JSON.parse(err.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
    await expect(core.listNamespacedService({ namespace })).resolves.toMatchObject({ items: [] });
  });

  it('failNext(2, 429) with Retry-After, only for matching requests', async () => {
    proxy.failNext(2, 429, { match: (r) => r.query.get('watch') === 'true', retryAfterSeconds: 3 });
    await expect(core.listNamespacedService({ namespace })).resolves.toBeDefined(); // not a watch: passes
    const first = await openWatch(viaProxy, path());
    expect(await first.ended).toMatchObject({ statusCode: 429 });
    const second = await openWatch(viaProxy, path());
    expect(await second.ended).toMatchObject({ statusCode: 429 });
    const third = await watchServices();
    third.abort();
  });

  it('refuse() makes connections fail with ECONNREFUSED; allow() restores them on the same port', async () => {
    const watch = await watchServices();
    proxy.refuse();
    expect(await watch.ended).toBeInstanceOf(Error); // open connections are cut too
    expect(await failure(core.listNamespacedService({ namespace }))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(await failure(core.listNamespacedService({ namespace }))).toMatchObject({ code: 'ECONNREFUSED' }); // still refusing
    proxy.allow();
    await expect(core.listNamespacedService({ namespace })).resolves.toMatchObject({ items: [] });
  });

  it('setDelay delays every request until cleared', async () => {
    // A delay far longer than a list takes even on a loaded CI machine, so that its end shows.
    proxy.setDelay(1500);
    let t0 = performance.now();
    await core.listNamespacedService({ namespace });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1490);
    proxy.setDelay(0);
    t0 = performance.now();
    await core.listNamespacedService({ namespace });
    expect(performance.now() - t0).toBeLessThan(1490);
  });
});
