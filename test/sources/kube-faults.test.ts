/**
 * The Kubernetes source through the fault proxy: dropped watches resume without a relist, expired
 * watches relist without ever shrinking what is served, failed lists are retried (Retry-After
 * honoured), and an API server that is gone is reported while the last known state keeps serving;
 * one not reachable at start is waited for, saying so.
 */
import { pino } from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeSource } from '../../src/sources/kube/index.ts';
import type { SourceState } from '../../src/sources/source.ts';
import type { Envtest } from '../support/envtest.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { endpoints, FAST_BACKOFF, kubeTestEnv, Logs, names, service, slice, startSource, trellisKubeConfig, type Admin, type Started } from './kube-support.ts';

/** One watch per kind in a single namespace: the substrings that tell their requests apart. */
const WATCHES = ['/api/v1/namespaces?', '/api/v1/nodes?', '/services?', '/endpointslices?', '/pods?', '/trafficpolicies?'];

describe('kube source under faults', () => {
  let env: Envtest;
  let api: Admin;
  let proxy: FaultProxy;
  let ns: string;
  let started: Started | undefined;
  beforeAll(async () => {
    ({ env, api } = await kubeTestEnv());
  });
  beforeEach(async () => {
    proxy = await startFaultProxy({ url: env.url, caPem: env.caPem });
    ns = await env.namespace('faults');
    await api.core.createNamespacedService({ namespace: ns, body: service('web') });
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-1', 'web', ['127.0.0.1', '127.0.0.2']) });
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-2', 'web', ['127.0.0.3']) });
  });
  afterEach(async () => {
    started?.source.close();
    started = undefined;
    await proxy.close();
  });

  /** Every watch open again through the proxy (the promises must exist before the watches open). */
  const watchesOpen = (): Promise<unknown> => Promise.all(WATCHES.map((w) => proxy.nextWatch(w)));

  const start = async (): Promise<Started> => {
    started = await startSource(await trellisKubeConfig(env, ns, proxy.url), { namespaces: [ns] });
    return started;
  };

  /** Every state told contains each of these endpoints: nothing that exists ever disappeared, even briefly. */
  const neverLost = (states: readonly SourceState[], kept: readonly string[]): void => {
    for (const s of states) expect(endpoints(s)).toEqual(expect.arrayContaining([...kept]));
  };

  it('until its first list, says what it waits for and why, logs each retry with its delay, and gives its start up when aborted', async () => {
    proxy.refuse();
    const logs = new Logs();
    const stop = new AbortController();
    let told: (reason: string) => void = () => undefined;
    // Nodes are listed first; once the Services list has failed too, they are named first.
    const refused = new Promise<string>((resolve) => (told = (r) => /^waiting for the first list of Services in .*ECONNREFUSED/.test(r) && resolve(r)));
    const kubeConfig = await trellisKubeConfig(env, ns, proxy.url);
    const starting = startKubeSource({ kubeConfig, namespaces: [ns], logger: pino({ level: 'debug' }, { write: logs.write }), relistBackoff: FAST_BACKOFF })(
      () => undefined,
      {
        waiting: (r) => told(r),
        signal: stop.signal,
      },
    );

    expect(await refused).toMatch(
      new RegExp(
        `^waiting for the first list of Services in ${ns}: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+; also of EndpointSlices, Pods, TrafficPolicies, Namespaces and Nodes$`,
      ),
    );
    await logs.until(
      'retries with their delay',
      (lines) => lines.filter((l) => l.level === 40 && /^waiting for the first list of Services in .*; retrying in \d+\.\ds$/.test(l.msg)).length >= 2,
    );
    expect(logs.count(40, /out of step/)).toBe(0); // nothing is served yet: there is no last known state
    stop.abort(new Error('given up'));
    await expect(starting).rejects.toThrow('given up');
  });

  it.each(['reset', 'end'] as const)('resumes dropped watches (%s) from where they were, without a relist', async (mode) => {
    const opened = watchesOpen();
    const { source, changes } = await start();
    await opened;
    const listsBefore = proxy.stats().lists;

    const reopened = watchesOpen();
    expect(proxy.dropWatches(mode)).toBe(WATCHES.length);
    await reopened;
    await api.core.createNamespacedService({ namespace: ns, body: service('api') });
    await changes.until('api seen', (s) => names(s, 'services').includes(`${ns}/api`));

    expect(proxy.stats().lists).toBe(listsBefore);
    for (const stats of Object.values(source.stats())) expect(stats).toMatchObject({ lists: 1, relists: 0, watches: 2, watchEnds: 1 });
    neverLost(changes.states, ['web-1:127.0.0.1', 'web-1:127.0.0.2', 'web-2:127.0.0.3']);
    expect(source.current().connected).toBe(true);
  });

  it('relists after an expired watch, and swaps the new list in whole: no state ever has fewer endpoints', async () => {
    const opened = watchesOpen();
    const { source, changes } = await start();
    await opened;

    // Hold the relist back while the endpoints change behind the source's back; only the relist can tell.
    proxy.setDelay(1000);
    const reopened = watchesOpen(); // after every relist
    expect(proxy.expireWatches()).toBe(WATCHES.length);
    await api.discovery.deleteNamespacedEndpointSlice({ name: 'web-2', namespace: ns });
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-3', 'web', ['127.0.0.4']) });
    const relisted = await changes.until('the relist', (s) => endpoints(s).includes('web-3:127.0.0.4'));
    await reopened;
    proxy.setDelay(0);

    expect(endpoints(relisted)).toEqual(['web-1:127.0.0.1', 'web-1:127.0.0.2', 'web-3:127.0.0.4']);
    expect(changes.states).toHaveLength(1); // one swap, one onChange: no intermediate state at all
    neverLost(changes.states, ['web-1:127.0.0.1', 'web-1:127.0.0.2']);
    for (const stats of Object.values(source.stats())) expect(stats).toMatchObject({ lists: 2, relists: 1, expired: 1 });
  });

  it('lists in pages of 500, and serves the whole list', async () => {
    const more = Array.from({ length: 520 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < more.length; i += 40) {
      await Promise.all(
        more.slice(i, i + 40).map((name) => api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice(name, 'bulk', ['127.0.1.1']) })),
      );
    }
    const { source } = await start();
    expect(source.current().inputs.endpointSlices).toHaveLength(522); // and web-1, web-2
    expect(proxy.stats().lists).toBe(WATCHES.length + 1); // two pages of EndpointSlices, one of every other kind
  });

  it('retries lists that fail with 500', async () => {
    proxy.failNext(3, 500, { match: (r) => r.path.endsWith('/services') && r.query.get('watch') === null });
    const { source, logs } = await start();
    expect(names(source.current(), 'services')).toEqual([`${ns}/web`]);
    expect(source.stats().services).toMatchObject({ lists: 1, listFailures: 3 });
    expect(source.current().connected).toBe(true);
    // Before the first list nothing is served, so there is no outage to report: each retry says what it waits for.
    expect(logs.count(40, /^waiting for the first list of Services in .*: GET .*: 500 InternalError: .*; retrying in \d+\.\ds$/)).toBe(3);
    expect(logs.count(40, /out of step with the API server/)).toBe(0);
  });

  it('waits as long as Retry-After asks before retrying a list answered 429', async () => {
    proxy.failNext(1, 429, { match: (r) => r.path.endsWith('/pods') && r.query.get('watch') === null, retryAfterSeconds: 1 });
    const t0 = Date.now();
    const { source } = await start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // the backoff alone is at most 400 ms
    expect(source.stats().pods).toMatchObject({ lists: 1, listFailures: 1 });
  });

  it('says it is disconnected while the API server is unreachable, serves what it knew, and catches up after', async () => {
    const opened = watchesOpen();
    const { source, changes, logs } = await start();
    await opened;
    const before = source.current();

    proxy.refuse();
    const down = await changes.until('disconnected', (s) => !s.connected);
    expect(down.reason).toMatch(/ECONNREFUSED/);
    expect(down.inputs).toEqual(before.inputs);
    await api.core.createNamespacedService({ namespace: ns, body: service('api') });
    await api.discovery.deleteNamespacedEndpointSlice({ name: 'web-2', namespace: ns });
    // Several retries fail; the transition is logged once.
    await logs.until('retries failing', (lines) => lines.filter((l) => /^cannot watch/.test(l.msg)).length >= 10);
    expect(source.current().inputs).toEqual(before.inputs);
    expect(logs.count(40, /out of step with the API server/)).toBe(1);

    proxy.allow();
    const up = await changes.until(
      'reconnected, caught up',
      (s) => s.connected && names(s, 'services').includes(`${ns}/api`) && !endpoints(s).includes('web-2:127.0.0.3'),
    );
    expect(up.reason).toBeUndefined();
    expect(endpoints(up)).toEqual(['web-1:127.0.0.1', 'web-1:127.0.0.2']);
    expect(logs.count(30, /in step with the API server again/)).toBe(1);
    neverLost(changes.states, ['web-1:127.0.0.1', 'web-1:127.0.0.2']);
  });

  it('relists when the API server itself answers 410 Gone for a compacted resourceVersion', async () => {
    const opened = watchesOpen();
    const { source, changes } = await start();
    await opened;

    // Two writes elsewhere: a watch from resourceVersion R starts at R+1, which must be older than the compaction.
    await env.namespace('advance');
    await env.namespace('advance');
    await env.compact();
    // The watches resume from their old resourceVersion, which etcd no longer has; held back a little,
    // so that web-3 is created while no watch is open and only the relist can tell.
    proxy.setDelay(300);
    proxy.dropWatches('end');
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-3', 'web', ['127.0.0.4']) });
    await changes.until('web-3 seen', (s) => endpoints(s).includes('web-3:127.0.0.4'));
    proxy.setDelay(0);

    const stats = source.stats();
    expect(stats.endpointSlices.expired).toBeGreaterThanOrEqual(1);
    expect(stats.endpointSlices.relists).toBeGreaterThanOrEqual(1);
    neverLost(changes.states, ['web-1:127.0.0.1', 'web-1:127.0.0.2', 'web-2:127.0.0.3']);
  });

  it('recovers when the API server is really stopped and started again', async () => {
    const { source, changes } = await start();
    const down = changes.until('disconnected', (s) => !s.connected, 60_000);
    await env.restartApiServer();
    expect((await down).inputs).toEqual(source.current().inputs);
    await changes.until('connected again', (s) => s.connected, 60_000);

    await api.core.createNamespacedService({ namespace: ns, body: service('api') });
    await changes.until('a change after the restart', (s) => names(s, 'services').includes(`${ns}/api`));
    neverLost(changes.states, ['web-1:127.0.0.1', 'web-1:127.0.0.2', 'web-2:127.0.0.3']);
  }, 90_000);
});
