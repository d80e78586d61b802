import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeltaClient } from '../support/ads-client.ts';
import { CDS, cluster, EDS, endpoints } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';

const QUIET_MS = 250;

let t: TestServer;
const clients: DeltaClient[] = [];

async function client(id = `delta-${clients.length}`): Promise<DeltaClient> {
  const c = await DeltaClient.connect(t.address, { node: { id } });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  t = await startTestServer();
  t.cache.set('default', {
    cluster: [cluster('a'), cluster('b')],
    endpoint: [endpoints('a', [1001]), endpoints('b', [1002])],
  });
  t.cache.markReady();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

describe('delta: subscriptions and changes', () => {
  it('sends every resource with its version to a wildcard subscriber, and nothing for the ACK', async () => {
    const c = await client();
    c.subscribe(CDS, ['*']);
    const res = await c.next(CDS);
    expect(res.resources.map((r) => [r.name, r.version])).toEqual([
      ['a', expect.stringMatching(/^[0-9a-f]{32}$/)],
      ['b', expect.stringMatching(/^[0-9a-f]{32}$/)],
    ]);
    expect(res.removed).toEqual([]);
    c.ack(res);
    await t.next('acked');
    await c.expectSilence(QUIET_MS);
  });

  it('treats a first request with no names as a (legacy) wildcard', async () => {
    const c = await client();
    c.subscribe(CDS);
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('sends only the resource that changed, and names removed ones', async () => {
    const c = await client();
    c.subscribe(CDS, ['*']);
    c.ack(await c.next(CDS));
    t.cache.set('default', { cluster: [cluster('a', 5), cluster('b')] });
    const changed = await c.next(CDS);
    expect(changed.resources.map((r) => r.name)).toEqual(['a']);
    expect(changed.removed).toEqual([]);
    c.ack(changed);
    t.cache.set('default', { cluster: [cluster('a', 5)] });
    const removed = await c.next(CDS);
    expect(removed.resources).toEqual([]);
    expect(removed.removed).toEqual(['b']);
  });

  it('says a named resource that does not exist is removed, and sends it once it exists', async () => {
    const c = await client();
    c.subscribe(EDS, ['a', 'ghost']);
    const first = await c.next(EDS);
    expect(first.resources.map((r) => r.name)).toEqual(['a']);
    expect(first.removed).toEqual(['ghost']);
    c.ack(first);
    t.cache.set('default', { endpoint: [endpoints('a', [1001]), endpoints('b', [1002]), endpoints('ghost', [1003])] });
    expect((await c.next(EDS)).resources.map((r) => r.name)).toEqual(['ghost']);
  });

  it('stops sending a resource after it is unsubscribed, and adds new subscriptions', async () => {
    const c = await client();
    c.subscribe(EDS, ['a']);
    const res = await c.next(EDS);
    c.ack(res);
    c.send({ typeUrl: EDS, unsubscribe: ['a'], subscribe: ['b'] });
    expect((await c.next(EDS)).resources.map((r) => r.name)).toEqual(['b']);
  });

  it('does not resend a NACKed version, and sends the next one', async () => {
    const c = await client('delta-nacker');
    c.subscribe(CDS, ['*']);
    const res = await c.next(CDS);
    c.nack(res, 'no thanks');
    await t.next('nacked');
    await c.expectSilence(QUIET_MS);
    expect(t.server.proxies()[0]?.types[0]).toMatchObject({ state: 'ERROR', lastError: { message: 'no thanks' } });
    t.cache.set('default', { cluster: [cluster('a', 9), cluster('b')] });
    expect((await c.next(CDS)).resources.map((r) => r.name)).toEqual(['a']);
  });
});

describe('delta: reconnecting with initial_resource_versions', () => {
  it('sends nothing the proxy already has, what changed, and removals of what is gone', async () => {
    const first = await client('returning');
    first.subscribe(CDS, ['*']);
    const had = await first.next(CDS);
    first.close();
    const versions = Object.fromEntries(had.resources.map((r) => [r.name, r.version ?? '']));

    const same = await client('returning');
    same.send({ typeUrl: CDS, subscribe: ['*'], initialResourceVersions: versions });
    await same.expectSilence(QUIET_MS);

    t.cache.set('default', { cluster: [cluster('b', 7), cluster('c')] });
    const later = await client('returning-later');
    later.send({ typeUrl: CDS, subscribe: ['*'], initialResourceVersions: versions });
    const res = await later.next(CDS);
    expect(res.resources.map((r) => r.name)).toEqual(['b', 'c']);
    expect(res.removed).toEqual(['a']);
  });

  it('honours initial versions that arrive before the sources have synced', async () => {
    const c = await client();
    c.subscribe(CDS, ['*']);
    const had = await c.next(CDS);
    const versions = Object.fromEntries(had.resources.map((r) => [r.name, r.version ?? '']));
    const fresh = await startTestServer();
    const d = await DeltaClient.connect(fresh.address, { node: { id: 'early' } });
    d.send({ typeUrl: CDS, subscribe: ['*'], initialResourceVersions: versions });
    fresh.cache.set('default', { cluster: [cluster('a'), cluster('b', 3)] });
    fresh.cache.markReady();
    const res = await d.next(CDS);
    d.close();
    await fresh.close();
    expect(res.resources.map((r) => r.name)).toEqual(['b']);
  });
});
