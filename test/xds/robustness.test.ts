import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeltaClient, rawCall, SotwClient } from '../support/ads-client.ts';
import { CDS, cluster, EDS, endpoints, RDS } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { classifyNode } from '../../src/translate/proxy.ts';

const QUIET_MS = 250;

let t: TestServer;
const cleanup: (() => void)[] = [];

async function sotw(id: string): Promise<SotwClient> {
  const c = await SotwClient.connect(t.address, { node: { id } });
  cleanup.push(() => c.close());
  return c;
}

beforeEach(async () => {
  t = await startTestServer({ maxRequestBytes: 64 * 1024, maxNamesPerType: 1000 });
  t.cache.set('default', { cluster: [cluster('a')], endpoint: [endpoints('a', [1001])] });
  t.cache.markReady();
});

afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await t.close();
});

/** Proves the server still serves: a fresh client gets CDS. */
async function stillServes(): Promise<void> {
  const probe = await sotw(`probe-${cleanup.length}`);
  probe.subscribe(CDS);
  expect((await probe.next(CDS)).resources.map((r) => r.name)).toEqual(['a']);
}

describe('nodes Trellis refuses', () => {
  let strict: TestServer;
  beforeEach(async () => {
    strict = await startTestServer({ classify: classifyNode, maxNodeIdLength: 64, maxNodeMetadataBytes: 512 });
    strict.cache.markReady();
  });
  afterEach(async () => {
    await strict.close();
  });

  it.each([
    ['a "/" in POD_NAME', { POD_NAME: 'a/b', NAMESPACE: 'shop' }],
    ['an "@" in POD_NAME', { POD_NAME: 'a@b', NAMESPACE: 'shop' }],
    ['a "/" in NAMESPACE', { POD_NAME: 'a', NAMESPACE: 'sh/op' }],
    ['an "@" in NAMESPACE', { POD_NAME: 'a', NAMESPACE: 'sh@op' }],
  ])('ends at once, with INVALID_ARGUMENT, the stream of a node with %s', async (_label, metadata) => {
    const c = await SotwClient.connect(strict.address, { node: { id: 'a.shop', metadata } });
    cleanup.push(() => c.close());
    c.subscribe(CDS);
    const end = await c.closed();
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toContain('proxy class');
  });

  it.each([
    ['node.id', { id: `${'x'.repeat(65)}.shop` }],
    ['node.metadata', { id: 'a.shop', metadata: { POD_NAME: 'a', NAMESPACE: 'shop', EXTRA: 'y'.repeat(600) } }],
  ])('refuses an oversized %s with INVALID_ARGUMENT', async (field, node) => {
    const c = await SotwClient.connect(strict.address, { node });
    cleanup.push(() => c.close());
    c.subscribe(CDS);
    const end = await c.closed();
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toContain(field);
  });

  it('logs at most 128 characters of a node.id', async () => {
    const id = `${'z'.repeat(300)}.shop`;
    const c = await SotwClient.connect(t.address, { node: { id } });
    cleanup.push(() => c.close());
    c.subscribe('type.googleapis.com/envoy.service.runtime.v3.Runtime', ['rt']);
    await t.next('rejected');
    const line = t.logs.find((l) => typeof l.proxy === 'string');
    expect(line?.proxy).toBe(`${'z'.repeat(128)}…(305)`);
  });
});

describe('limits per stream and server-wide', () => {
  let small: TestServer;
  beforeEach(async () => {
    small = await startTestServer({ maxNamesPerType: 1000, maxNamesPerStream: 1500, maxNamesServer: 2500 });
    small.cache.set('default', { cluster: [cluster('a')], endpoint: [endpoints('a', [1001])] });
    small.cache.markReady();
  });
  afterEach(async () => {
    await small.close();
  });
  const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  it('refuses a stream whose types together subscribe to more names than a stream may, with RESOURCE_EXHAUSTED', async () => {
    const c = await SotwClient.connect(small.address, { node: { id: 'greedy' } });
    cleanup.push(() => c.close());
    c.subscribe(EDS, names('e', 900));
    await c.next(EDS);
    c.subscribe(RDS, names('r', 900));
    const end = await c.closed();
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('one stream');
  });

  it('refuses names beyond the server-wide limit, and counts the names of a stream that leaves as gone', async () => {
    const clients = await Promise.all(['s1', 's2', 's3'].map((id) => SotwClient.connect(small.address, { node: { id } })));
    for (const c of clients) cleanup.push(() => c.close());
    const [s1, s2, s3] = clients as [SotwClient, SotwClient, SotwClient];
    s1.subscribe(EDS, names('a', 1000));
    await s1.next(EDS);
    s2.subscribe(EDS, names('b', 1000));
    await s2.next(EDS);
    expect(small.server.subscribedNames).toBe(2000);
    s3.subscribe(EDS, names('c', 1000));
    const end = await s3.closed();
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('this server');
    const closed = small.next('closed');
    s1.close();
    await closed;
    expect(small.server.subscribedNames).toBe(1000);
  });

  it('logs a repeated warning once, and counts every occurrence', async () => {
    const c = await sotw('noisy');
    for (let i = 0; i < 100; i++) c.subscribe(`type.googleapis.com/unknown.T${i}`, ['x']);
    c.subscribe(CDS);
    await c.next(CDS);
    expect(t.rejected.filter((r) => r === 'unknown_type')).toHaveLength(100);
    expect(t.logs.filter((l) => l.msg === 'request for a type Trellis does not serve; ignored')).toHaveLength(1);
  });
});

describe('bad input', () => {
  it('ignores a type URL it does not serve, counts it, and keeps the stream', async () => {
    const c = await sotw('curious');
    c.subscribe('type.googleapis.com/envoy.service.runtime.v3.Runtime', ['rt']);
    await t.next('rejected');
    expect(t.rejected).toEqual(['unknown_type']);
    c.subscribe(CDS);
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['a']);
  });

  it.each([
    ['state of the world', 'sotw'],
    ['delta', 'delta'],
  ] as const)('ends a %s stream whose first request has no node with INVALID_ARGUMENT', async (_label, protocol) => {
    const c = protocol === 'sotw' ? await SotwClient.connect(t.address) : await DeltaClient.connect(t.address);
    cleanup.push(() => c.close());
    c.send({ typeUrl: CDS, omitNode: true });
    const end = await c.closed();
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toContain('node.id');
    await stillServes();
  });

  it('ends a stream with a request without type_url', async () => {
    const c = await sotw('typeless');
    c.send({ typeUrl: '' });
    expect((await c.closed()).code).toBe(status.INVALID_ARGUMENT);
  });

  it.each(['StreamAggregatedResources', 'DeltaAggregatedResources'] as const)('answers a malformed %s message with INVALID_ARGUMENT', async (method) => {
    const raw = rawCall(t.address, method);
    cleanup.push(() => raw.close());
    // field 15 with wire type 7, which does not exist
    raw.call.write(Buffer.from([0x7f, 0x01]));
    const end = await raw.closed;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toMatch(/malformed request/);
    await stillServes();
  });

  it('refuses an oversized message with RESOURCE_EXHAUSTED', async () => {
    const c = await sotw('huge');
    c.send({ typeUrl: EDS, resourceNames: Array.from({ length: 5000 }, (_, i) => `name-that-takes-some-room-${i}`) });
    expect((await c.closed()).code).toBe(status.RESOURCE_EXHAUSTED);
    await stillServes();
  });

  it('refuses a subscription to more names than the limit', async () => {
    const c = await sotw('greedy');
    c.send({ typeUrl: EDS, resourceNames: Array.from({ length: 1001 }, (_, i) => `n${i}`) });
    const end = await c.closed();
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('EDS');
  });
});

describe('misbehaving clients', () => {
  it('survives a client that disconnects in the middle of a push', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => cluster(`c${i}`));
    t.cache.set('default', { cluster: big });
    const quitter = await sotw('quitter');
    quitter.subscribe(CDS);
    const closed = t.next('closed');
    await t.next('pushed');
    quitter.close();
    await closed;
    expect(t.server.proxies().map((p) => p.proxyId)).toEqual([]);
    const c = await sotw('stayer');
    c.subscribe(CDS);
    expect((await c.next(CDS)).resources).toHaveLength(2000);
  });

  it('keeps at most one response per type on its way to a client that does not read', async () => {
    const slow = await sotw('slow');
    const fast = await sotw('fast');
    slow.pause();
    for (const c of [slow, fast]) c.subscribe(EDS, ['a']);
    const first = await fast.next(EDS);
    fast.ack(first);
    const slowNonce = (): string | undefined => t.server.proxies().find((p) => p.proxyId === 'slow')?.types[0]?.nonceSent;
    const sentBefore = slowNonce();
    expect(sentBefore).toMatch(/^[\w-]+\.\d+$/);
    for (let i = 0; i < 50; i++) {
      t.cache.set('default', { endpoint: [endpoints('a', [2000 + i])] });
      const res = await fast.next(EDS);
      fast.ack(res);
    }
    const slowStatus = t.server.proxies().find((p) => p.proxyId === 'slow')?.types[0];
    expect(slowStatus).toMatchObject({ nonceSent: sentBefore, state: 'STALE' });
    slow.resume();
    const old = await slow.next(EDS);
    expect(JSON.stringify(old.resources[0]?.body)).toContain('1001');
    slow.ack(old);
    const latest = await slow.next(EDS);
    expect(JSON.stringify(latest.resources[0]?.body)).toContain('2049');
    await slow.expectSilence(QUIET_MS);
  });
});
