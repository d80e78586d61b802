/**
 * CSDS follows a proxy's subscription: a name it adds after an ACK is REQUESTED until a response
 * holding it is acked, even though the version it would be sent has not changed since; a name it drops
 * is no longer listed. The ADS server runs in process on a cache set by the test; the CSDS client is
 * generated from the proto.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csdsImplementation, csdsServiceDefinition } from '../../src/debug/csds-service.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { SotwClient } from '../support/ads-client.ts';
import { configOf, CsdsClient, type ClientStatusResponse } from '../support/csds-client.ts';
import { pollFor } from '../support/poll.ts';
import { EDS, endpoints } from '../support/resources.ts';

let ads: AdsServer;
let address: string;
let csds: CsdsClient;
const closers: { close(): void }[] = [];

beforeAll(async () => {
  const cache = new SnapshotCache();
  const logger = pino({ level: 'silent' });
  ads = new AdsServer({ cache, classify: () => 'default', logger });
  ads.servePlaintext(csdsServiceDefinition, csdsImplementation(ads, logger));
  address = `127.0.0.1:${await ads.listen('127.0.0.1', 0)}`;
  csds = new CsdsClient(address);
  cache.set('default', { endpoint: [endpoints('e1', [8001]), endpoints('e2', [8002])] });
  cache.markReady();
});

afterAll(async () => {
  for (const c of closers) c.close();
  csds?.close();
  await ads?.close();
});

const statuses = (res: ClientStatusResponse): [string, string | undefined][] => configOf(res, 'grow.default').map((c) => [c.name, c.client_status]);

it('lists a name subscribed after the ACK as REQUESTED until it is acked, and drops an unsubscribed one', async () => {
  const proxy = await SotwClient.connect(address, { node: { id: 'grow.default' } });
  closers.push(proxy);
  proxy.subscribe(EDS, ['e1']);
  const first = await proxy.next(EDS, 15_000);
  proxy.ack(first);
  await pollFor(
    'e1 ACKED',
    () => csds.fetch(),
    (r) => statuses(r).some(([, s]) => s === 'ACKED'),
  );

  proxy.send({ typeUrl: EDS, resourceNames: ['e1', 'e2'], versionInfo: first.versionInfo, responseNonce: first.nonce });
  const second = await proxy.next(EDS, 15_000);
  expect(second.resources.map((r) => r.name)).toEqual(['e2']);
  expect(statuses(await csds.fetch())).toEqual([
    ['e1', 'ACKED'],
    ['e2', 'REQUESTED'],
  ]);

  proxy.ack(second);
  await pollFor(
    'e2 ACKED',
    () => csds.fetch(),
    (r) => statuses(r).every(([, s]) => s === 'ACKED'),
  );
  proxy.send({ typeUrl: EDS, resourceNames: ['e2'], versionInfo: second.versionInfo, responseNonce: second.nonce });
  await pollFor(
    'e1 gone',
    () => csds.fetch(),
    (r) => statuses(r).length === 1,
  );
  expect(statuses(await csds.fetch())).toEqual([['e2', 'ACKED']]);
});

it('lists a name subscribed after the ACK as NACKED when the response bringing it is rejected', async () => {
  const proxy = await SotwClient.connect(address, { node: { id: 'grow-nack.default' } });
  closers.push(proxy);
  proxy.subscribe(EDS, ['e1']);
  const first = await proxy.next(EDS, 15_000);
  proxy.ack(first);
  proxy.send({ typeUrl: EDS, resourceNames: ['e1', 'e2'], versionInfo: first.versionInfo, responseNonce: first.nonce });
  proxy.nack(await proxy.next(EDS, 15_000), 'e2 is bad');
  const res = await pollFor(
    'the NACK',
    () => csds.fetch(),
    (r) => configOf(r, 'grow-nack.default').some((c) => c.client_status === 'NACKED'),
  );
  expect(configOf(res, 'grow-nack.default').map((c) => [c.name, c.client_status, c.error_state?.details])).toEqual([
    ['e1', 'ACKED', undefined],
    ['e2', 'NACKED', 'e2 is bad'],
  ]);
});
