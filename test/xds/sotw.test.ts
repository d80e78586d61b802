import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SotwClient } from '../support/ads-client.ts';
import { apiListener, CDS, cluster, EDS, endpoints, LDS, RDS, route } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';

/** How long an absence is watched for; absence can only be asserted over some time. */
const QUIET_MS = 250;

let t: TestServer;
const clients: SotwClient[] = [];

async function client(id = `proxy-${clients.length}`): Promise<SotwClient> {
  const c = await SotwClient.connect(t.address, { node: { id } });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  t = await startTestServer();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

function ready(): void {
  t.cache.set('default', {
    cluster: [cluster('a'), cluster('b')],
    endpoint: [endpoints('a', [1001]), endpoints('b', [1002])],
    listener: [apiListener('l1', 'r1')],
    route: [route('r1', 'a')],
  });
  t.cache.markReady();
}

describe('state of the world: readiness', () => {
  it('holds requests until the sources have synced, then answers them', async () => {
    const c = await client();
    c.subscribe(CDS);
    await c.expectSilence(QUIET_MS);
    ready();
    const res = await c.next(CDS);
    expect(res.resources.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('does not answer from a snapshot that exists before the sources are ready', async () => {
    t.cache.set('default', { cluster: [cluster('a')] });
    const c = await client();
    c.subscribe(CDS);
    await c.expectSilence(QUIET_MS);
    t.cache.markReady();
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['a']);
  });
});

describe('state of the world: ACK, NACK and nonces', () => {
  beforeEach(ready);

  it('answers a wildcard CDS request with every cluster and does not answer the ACK', async () => {
    const c = await client();
    c.subscribe(CDS);
    const res = await c.next(CDS);
    expect(res.resources.map((r) => r.name)).toEqual(['a', 'b']);
    expect(res.versionInfo).toMatch(/^[0-9a-f]{32}$/);
    c.ack(res);
    await t.next('acked');
    await c.expectSilence(QUIET_MS);
    const [status] = t.server.proxies();
    expect(status?.types[0]).toMatchObject({ kind: 'cluster', state: 'SYNCED', versionAcked: res.versionInfo, nonceAcked: res.nonce });
  });

  it('records a NACK, does not send the rejected version again, and sends the next one', async () => {
    const c = await client('nacker');
    c.subscribe(CDS);
    const first = await c.next(CDS);
    c.nack(first, 'cluster a: bad timeout');
    await t.next('nacked');
    await c.expectSilence(QUIET_MS);
    expect(t.logs.find((l) => l.msg === 'proxy rejected configuration (NACK)')).toMatchObject({
      proxy: 'nacker',
      type: 'CDS',
      error: 'cluster a: bad timeout',
      sources: ['Service default/a', 'Service default/b'],
    });
    const cds = t.server.proxies()[0]?.types.find((x) => x.kind === 'cluster');
    expect(cds).toMatchObject({ state: 'ERROR', lastError: { message: 'cluster a: bad timeout', rejectedVersion: first.versionInfo } });

    t.cache.set('default', { cluster: [cluster('a', 2), cluster('b')] });
    const second = await c.next(CDS);
    expect(second.versionInfo).not.toBe(first.versionInfo);
    c.ack(second);
    await t.next('acked');
    expect(t.server.proxies()[0]?.types.find((x) => x.kind === 'cluster')?.state).toBe('SYNCED');
  });

  it('ignores a request whose nonce is not the last one sent', async () => {
    const c = await client();
    c.subscribe(EDS, ['a']);
    const res = await c.next(EDS);
    c.send({ typeUrl: EDS, resourceNames: ['a', 'b'], versionInfo: res.versionInfo, responseNonce: 'not-a-nonce' });
    await c.expectSilence(QUIET_MS);
    c.send({ typeUrl: EDS, resourceNames: ['a', 'b'], versionInfo: res.versionInfo, responseNonce: res.nonce });
    expect((await c.next(EDS)).resources.map((r) => r.name)).toEqual(['b']);
  });

  it('treats a nonce from another stream, or a guessed one, as stale: only a response received can be ACKed', async () => {
    const a = await client('a');
    a.subscribe(CDS);
    const resA = await a.next(CDS);
    const b = await client('b');
    b.subscribe(CDS);
    const resB = await b.next(CDS);
    expect(resB.nonce).not.toBe(resA.nonce);
    expect(resB.nonce).not.toMatch(/^\d+$/);
    // Another stream's nonce, then every small counter value: none is b's.
    b.send({ typeUrl: CDS, versionInfo: resA.versionInfo, responseNonce: resA.nonce });
    for (let n = 0; n <= 200; n++) b.send({ typeUrl: CDS, versionInfo: resB.versionInfo, responseNonce: String(n) });
    // Requests are handled in order: once EDS is answered, the guesses have been handled.
    b.subscribe(EDS, ['a']);
    await b.next(EDS);
    const cds = t.server
      .proxies()
      .find((p) => p.proxyId === 'b')
      ?.types.find((ts) => ts.kind === 'cluster');
    expect(cds).toMatchObject({ nonceSent: resB.nonce, nonceAcked: '', versionAcked: '' });
    b.ack(resB);
    await t.next('acked');
    expect(
      t.server
        .proxies()
        .find((p) => p.proxyId === 'b')
        ?.types.find((ts) => ts.kind === 'cluster'),
    ).toMatchObject({ nonceAcked: resB.nonce });
  });

  it('remembers the node from the first request of the stream', async () => {
    const c = await client('remembered');
    c.subscribe(CDS);
    const res = await c.next(CDS);
    c.send({ typeUrl: EDS, resourceNames: ['a'], omitNode: true });
    expect((await c.next(EDS)).resources.map((r) => r.name)).toEqual(['a']);
    c.ack(res);
    expect(t.server.proxies().map((p) => p.proxyId)).toEqual(['remembered']);
  });
});

describe('state of the world: subscriptions', () => {
  beforeEach(ready);

  it('sends only the named resources, then only those that change', async () => {
    const c = await client();
    c.subscribe(EDS, ['a']);
    const res = await c.next(EDS);
    expect(res.resources.map((r) => r.name)).toEqual(['a']);
    c.ack(res);
    t.cache.set('default', { endpoint: [endpoints('a', [1001]), endpoints('b', [2002])] });
    await c.expectSilence(QUIET_MS);
    t.cache.set('default', { endpoint: [endpoints('a', [3003]), endpoints('b', [2002])] });
    const update = await c.next(EDS);
    expect(update.resources).toHaveLength(1);
    expect(JSON.stringify(update.resources[0]?.body)).toContain('3003');
  });

  it('answers a name that does not exist with nothing, and sends it once it appears', async () => {
    const c = await client();
    c.subscribe(EDS, ['missing']);
    const res = await c.next(EDS);
    expect(res.resources).toEqual([]);
    c.ack(res);
    t.cache.set('default', { endpoint: [endpoints('a', [1001]), endpoints('b', [1002]), endpoints('missing', [1003])] });
    expect((await c.next(EDS)).resources.map((r) => r.name)).toEqual(['missing']);
  });

  it('stops sending a resource once it is unsubscribed', async () => {
    const c = await client();
    c.subscribe(EDS, ['a', 'b']);
    const res = await c.next(EDS);
    c.ack(res, ['a']);
    await t.next('acked');
    t.cache.set('default', { endpoint: [endpoints('a', [1001]), endpoints('b', [9999])] });
    await c.expectSilence(QUIET_MS);
  });

  it('keeps a legacy wildcard subscription wildcard when later requests are empty too', async () => {
    const c = await client();
    c.subscribe(CDS);
    c.ack(await c.next(CDS), []);
    await t.next('acked');
    t.cache.set('default', { cluster: [cluster('a'), cluster('b'), cluster('c')] });
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('reaches only the streams subscribed to what changed', async () => {
    const [one, two] = [await client('one'), await client('two')];
    one.subscribe(EDS, ['a']);
    two.subscribe(EDS, ['b']);
    one.ack(await one.next(EDS));
    two.ack(await two.next(EDS));
    t.cache.set('default', { endpoint: [endpoints('a', [5005]), endpoints('b', [1002])] });
    expect((await one.next(EDS)).resources.map((r) => r.name)).toEqual(['a']);
    await two.expectSilence(QUIET_MS);
  });

  it('sends a removed cluster as absent from the next CDS response', async () => {
    const c = await client();
    c.subscribe(CDS);
    c.ack(await c.next(CDS));
    t.cache.set('default', { cluster: [cluster('b')] });
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['b']);
  });
});

describe('state of the world: ordering and reconnects', () => {
  beforeEach(ready);

  it('pushes a change that touches every type in the order CDS, EDS, LDS, RDS', async () => {
    const c = await client();
    for (const [type, names] of [
      [RDS, ['r1']],
      [LDS, []],
      [EDS, ['a', 'c']],
      [CDS, []],
    ] as const) {
      c.subscribe(type, [...names]);
      c.ack(await c.next(type), [...names]);
    }
    t.cache.set('default', {
      cluster: [cluster('a'), cluster('b'), cluster('c')],
      endpoint: [endpoints('a', [1001]), endpoints('b', [1002]), endpoints('c', [1003])],
      listener: [apiListener('l1', 'r1'), apiListener('l2', 'r1')],
      route: [route('r1', 'c')],
    });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await c.next();
      order.push(res.typeUrl.split('.').pop() ?? '');
      c.ack(res, res.typeUrl === EDS ? ['a', 'c'] : res.typeUrl === RDS ? ['r1'] : []);
    }
    expect(order).toEqual(['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration']);
  });

  it('holds a later type back while an earlier type has a newer version waiting for its ACK', async () => {
    const c = await client();
    c.subscribe(CDS);
    c.ack(await c.next(CDS));
    c.subscribe(LDS);
    c.ack(await c.next(LDS));
    await t.next('acked');
    t.cache.set('default', { cluster: [cluster('a'), cluster('b'), cluster('c')] });
    const cds = await c.next(CDS); // in flight, not acked yet
    t.cache.set('default', { cluster: [cluster('a'), cluster('b'), cluster('c'), cluster('d')], listener: [apiListener('l1', 'r1'), apiListener('l2', 'r1')] });
    await c.expectSilence(QUIET_MS);
    c.ack(cds);
    expect((await c.next()).typeUrl).toBe(CDS);
  });

  it('sends nothing to a proxy that reconnects with the version it already has', async () => {
    const first = await client('returning');
    first.subscribe(CDS);
    const res = await first.next(CDS);
    first.close();
    const again = await client('returning');
    again.send({ typeUrl: CDS, versionInfo: res.versionInfo });
    await again.expectSilence(QUIET_MS);
    const stale = await client('stale');
    stale.send({ typeUrl: CDS, versionInfo: 'some-old-version' });
    expect((await stale.next(CDS)).versionInfo).toBe(res.versionInfo);
  });

  it('serves the same versions from a second, independent server', async () => {
    const c = await client();
    c.subscribe(CDS);
    const mine = await c.next(CDS);
    const other = await startTestServer();
    other.cache.set('default', { cluster: [cluster('b'), cluster('a')] });
    other.cache.markReady();
    const c2 = await SotwClient.connect(other.address, { node: { id: 'x' } });
    c2.subscribe(CDS);
    const theirs = await c2.next(CDS);
    c2.close();
    await other.close();
    expect(theirs.versionInfo).toBe(mine.versionInfo);
    expect(theirs.resources).toEqual(mine.resources);
  });
});

describe('state of the world: snapshots on demand', () => {
  it('asks for the snapshot of a class it has none for, and answers once it is set', async () => {
    await t.close();
    const demanded: string[] = [];
    t = await startTestServer({ classify: (node) => `class-${node.id}`, onDemand: (cls) => demanded.push(cls) });
    t.cache.markReady();
    const c = await client('x');
    c.subscribe(CDS);
    await t.next('demanded');
    expect(demanded).toEqual(['class-x']);
    expect(t.server.classesInUse()).toEqual(['class-x']);
    t.cache.set('class-x', { cluster: [cluster('only-for-x')] });
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['only-for-x']);
  });
});
