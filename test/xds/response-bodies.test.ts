import { afterEach, describe, expect, it } from 'vitest';
import { ResponseBodies } from '../../src/xds/response-bodies.ts';
import { DeltaClient, SotwClient } from '../support/ads-client.ts';
import { CDS, cluster, EDS, endpoints } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';

const body = (text: string) => (): Buffer => Buffer.from(text);

describe('ResponseBodies', () => {
  it('encodes a key once and hands the same bytes to every later caller', () => {
    const bodies = new ResponseBodies(1024);
    const first = bodies.get('k', 'v', body('abc'));
    const again = bodies.get('k', 'v', body('other'));
    expect(again).toBe(first);
    expect(bodies.encodes).toBe(1);
  });

  it('drops the least recently used bodies beyond its bound in bytes', () => {
    const bodies = new ResponseBodies(10);
    bodies.get('a', 'v', body('aaaa'));
    bodies.get('b', 'v', body('bbbb'));
    bodies.get('a', 'v', body('never'));
    bodies.get('c', 'v', body('cccc'));
    expect(bodies.bytes).toBe(8);
    expect(bodies.get('a', 'v', body('AAAA')).toString()).toBe('aaaa');
    expect(bodies.get('b', 'v', body('BBBB')).toString()).toBe('BBBB');
    expect(bodies.encodes).toBe(4);
  });

  it('lets go of the bodies of a version it is told to forget, and of no other', () => {
    const bodies = new ResponseBodies(1024);
    bodies.get('a', 'v1', body('aaaa'));
    bodies.get('b', 'v1', body('bbbb'));
    bodies.get('c', 'v2', body('cccc'));
    bodies.forget('v1');
    expect([bodies.size, bodies.bytes]).toEqual([1, 4]);
    expect(bodies.get('c', 'v2', body('CCCC')).toString()).toBe('cccc');
    expect(bodies.get('a', 'v1', body('AAAA')).toString()).toBe('AAAA');
    bodies.forget('v3');
    expect(bodies.size).toBe(2);
  });

  it('does not keep a body larger than its bound', () => {
    const bodies = new ResponseBodies(3);
    expect(bodies.get('big', 'v', body('abcd')).toString()).toBe('abcd');
    expect(bodies.size).toBe(0);
    expect(bodies.get('big', 'v', body('efgh')).toString()).toBe('efgh');
  });
});

describe('response bodies shared across requests', () => {
  let t: TestServer;
  const clients: { close(): void }[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await t.close();
  });

  async function serve(): Promise<void> {
    t = await startTestServer();
    t.cache.set('default', {
      cluster: [cluster('a'), cluster('b')],
      endpoint: [endpoints('a', [1001]), endpoints('b', [1002])],
    });
    t.cache.markReady();
  }

  it('delta: proxies connecting one after another, by wildcard or naming every resource, share one encoding; each has its own nonce', async () => {
    await serve();
    const encoded0 = t.server.bodiesEncoded;
    const wildcard = await DeltaClient.connect(t.address, { node: { id: 'p1' } });
    clients.push(wildcard);
    wildcard.subscribe(EDS, ['*']);
    const first = await wildcard.next(EDS);
    const named = await DeltaClient.connect(t.address, { node: { id: 'p2' } });
    clients.push(named);
    named.subscribe(EDS, ['b', 'a']);
    const second = await named.next(EDS);
    expect(second.resources).toEqual(first.resources);
    expect(second.systemVersionInfo).toBe(first.systemVersionInfo);
    expect(second.nonce).not.toBe(first.nonce);
    expect(t.server.bodiesEncoded - encoded0).toBe(1);
    // Part of the kind is another body.
    const part = await DeltaClient.connect(t.address, { node: { id: 'p3' } });
    clients.push(part);
    part.subscribe(EDS, ['b']);
    expect((await part.next(EDS)).resources.map((r) => r.name)).toEqual(['b']);
    expect(t.server.bodiesEncoded - encoded0).toBe(2);
  });

  it('keeps a body while a class holds its version: a change, or the class going, lets go of it', async () => {
    await serve();
    const c = await DeltaClient.connect(t.address, { node: { id: 'p1' } });
    clients.push(c);
    c.subscribe(EDS, ['*']);
    c.ack(await c.next(EDS));
    expect(t.server.bodiesHeld).toBe(1);
    // A change: the new version's body replaces the old one's.
    t.cache.set('default', { endpoint: [endpoints('a', [1003]), endpoints('b', [1002])] });
    c.ack(await c.next(EDS));
    expect(t.server.bodiesHeld).toBe(1);
    // The class goes (its last proxy left and the builder released it): nothing of it is kept.
    t.cache.delete('default');
    expect(t.server.bodiesHeld).toBe(0);
  });

  it('SotW: a proxy connecting after a change is sent the new content, not the body kept from before', async () => {
    await serve();
    const before = await SotwClient.connect(t.address, { node: { id: 'p1' } });
    clients.push(before);
    before.subscribe(CDS);
    const old = await before.next(CDS);
    before.ack(old);
    await t.next('acked');
    t.cache.set('default', { cluster: [cluster('a', 7), cluster('b')], endpoint: [endpoints('a', [1001]), endpoints('b', [1002])] });
    const pushed = await before.next(CDS);
    const after = await SotwClient.connect(t.address, { node: { id: 'p2' } });
    clients.push(after);
    after.subscribe(CDS);
    const fresh = await after.next(CDS);
    expect(fresh.versionInfo).not.toBe(old.versionInfo);
    expect(fresh.versionInfo).toBe(pushed.versionInfo);
    expect(fresh.resources).toEqual(pushed.resources);
  });
});
