/**
 * Large subscriptions summarised: /debug/syncz lists the first names of each type and a count, so 20
 * proxies with 100 000 names each do not make a 50 MB answer; `?proxy=ID` lists that proxy's names in full.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SynczResponse } from '../../src/debug/syncz.ts';
import { SnapshotBuilder } from '../../src/pipeline/snapshots.ts';
import { classifyNode } from '../../src/translate/proxy.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { firstSorted, SUBSCRIBED_LISTED } from '../../src/xds/status.ts';
import { SotwClient } from '../support/ads-client.ts';
import { CDS, EDS } from '../support/resources.ts';
import { modelOf, port, service } from '../translate/model-fixtures.ts';
import { startServer } from './support.ts';

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const t of teardown.splice(0).reverse()) await t();
});

const NAMES = 250;
/** Names in an order that is not sorted, so that listing the first ones must pick them. */
const names = Array.from({ length: NAMES }, (_, i) => `outbound|80||svc-${String((i * 97) % NAMES).padStart(3, '0')}.shop.svc.cluster.local`);

async function connectedProxy(): Promise<{ base: string }> {
  const logger = pino({ level: 'silent' });
  const cache = new SnapshotCache();
  const server: AdsServer = new AdsServer({ cache, classify: classifyNode, logger, onDemand: (cls) => builder.demand(cls) });
  const builder = new SnapshotBuilder(cache, () => server.classesInUse(), logger);
  builder.setModel(modelOf([service('shop', 'web', { clusterIP: '10.0.0.1', ports: [port('http', 80, 'http')] })]));
  const xdsPort = await server.listen('127.0.0.1', 0);
  teardown.push(() => server.close());
  const client = await SotwClient.connect(`127.0.0.1:${xdsPort}`, { node: { id: 'big.shop' } });
  teardown.push(() => client.close());
  // The stream handles its requests in order: once CDS is answered, the EDS subscription is in.
  client.subscribe(EDS, names);
  client.subscribe(CDS);
  await client.next(CDS);
  return startServer(server);
}

async function syncz(base: string, query = ''): Promise<SynczResponse> {
  const res = await fetch(`${base}/debug/syncz${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SynczResponse;
}

describe('/debug/syncz with large subscriptions', () => {
  it(`lists the first ${SUBSCRIBED_LISTED} names of a type, sorted, and counts them all`, async () => {
    const { base } = await connectedProxy();
    const eds = (await syncz(base)).proxies[0]?.types.find((t) => t.type === 'EDS');
    expect(eds?.subscribedCount).toBe(NAMES);
    expect(eds?.subscribed).toEqual([...names].sort().slice(0, SUBSCRIBED_LISTED));
  });

  it('lists every name of one proxy asked about with ?proxy=, and 404 for one not connected', async () => {
    const { base } = await connectedProxy();
    const body = await syncz(base, '?proxy=big.shop');
    expect(body.proxies.map((p) => p.proxyId)).toEqual(['big.shop']);
    const eds = body.proxies[0]?.types.find((t) => t.type === 'EDS');
    expect(eds).toMatchObject({ subscribedCount: NAMES, subscribed: [...names].sort() });
    const missing = await fetch(`${base}/debug/syncz?proxy=nobody`);
    expect([missing.status, await missing.text()]).toEqual([404, 'proxy "nobody" is not connected; see /debug/syncz for the connected proxies\n']);
  });
});

describe('firstSorted', () => {
  it.each([
    [[], 3, []],
    [['c', 'a', 'b'], 5, ['a', 'b', 'c']],
    [['e', 'b', 'd', 'a', 'c', 'a2'], 3, ['a', 'a2', 'b']],
    [['b', 'a'], 0, []],
  ])('%j, %i → %j', (input, limit, expected) => {
    expect(firstSorted(input, limit)).toEqual(expected);
  });
});
