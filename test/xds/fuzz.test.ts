/**
 * Fuzz, standing: what a hostile or broken client can send an ADS stream. Arbitrary bytes as
 * DiscoveryRequests (random, truncated, corrupted, and well-formed ones with hostile fields), and
 * arbitrary sequences of requests (subscriptions to anything, ACKs and NACKs of real and made-up
 * nonces, versions from nowhere, unsubscribing, pausing, leaving at any point) while the configuration
 * changes. Whatever comes in: the server never fails on it (no unexpected error, no INTERNAL), and two
 * well-behaved proxies on other streams, one of each protocol, keep converging on every change.
 *
 * Seeded and bounded (test/support/fuzz.ts); TRELLIS_FUZZ_RUNS=… for a longer run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adsProtos, DeltaClient, rawCall, SotwClient } from '../support/ads-client.ts';
import type { AdsMethod } from '../support/ads-client-protos.ts';
import { fuzzParameters, fuzzRuns, hostileString, LONG_FUZZ } from '../support/fuzz.ts';
import { CDS, cluster, EDS, endpoints, LDS, RDS, SDS } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { describeNode, proxyClassOf } from '../../src/translate/proxy.ts';

const TIMEOUT = LONG_FUZZ ? 3_600_000 : 30_000;
/** How long an ACK or NACK waits for a response to answer. */
const ANSWER_WAIT_MS = 50;
const RAW_RUNS = 60;
const SEQUENCE_RUNS = 60;
/** Enough runs that the fuzz must have reached what it is for (a check that it still does). */
const REACHES = (runs: number) => fuzzRuns(runs) >= runs;
const typeUrl = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(CDS, EDS, LDS, RDS, SDS) }, { weight: 1, arbitrary: hostileString });
const names = fc.array(fc.oneof(fc.constantFrom('*', 'a', 'b'), hostileString), { maxLength: 4 });
const nonce = fc.oneof(fc.constantFrom('', '1', '2', '3', '10'), hostileString);

const node = fc.record(
  {
    id: hostileString,
    cluster: hostileString,
    metadata: fc.record({ fields: fc.dictionary(fc.constantFrom('PROXY_MODE', 'NAMESPACE', 'POD_NAME'), fc.record({ stringValue: hostileString })) }),
    locality: fc.record({ region: hostileString, zone: hostileString, sub_zone: hostileString }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const errorDetail = fc.record({ code: fc.integer({ min: -1, max: 20 }), message: hostileString });

const sotwRequest = fc.record(
  { version_info: hostileString, node, resource_names: names, type_url: typeUrl, response_nonce: nonce, error_detail: errorDetail },
  { requiredKeys: [] },
);
const deltaRequest = fc.record(
  {
    node,
    type_url: typeUrl,
    resource_names_subscribe: names,
    resource_names_unsubscribe: names,
    initial_resource_versions: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
    response_nonce: nonce,
    error_detail: errorDetail,
  },
  { requiredKeys: [] },
);

const MESSAGE: Record<AdsMethod, string> = {
  StreamAggregatedResources: 'envoy.service.discovery.v3.DiscoveryRequest',
  DeltaAggregatedResources: 'envoy.service.discovery.v3.DeltaDiscoveryRequest',
};

function encode(method: AdsMethod, request: object): Buffer {
  const type = adsProtos().root.lookupType(MESSAGE[method]);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/** One message on the wire: random bytes, or an encoded request as it is, cut short, or with one byte changed. */
function wireMessage(method: AdsMethod): fc.Arbitrary<Buffer> {
  const request = method === 'StreamAggregatedResources' ? sotwRequest : deltaRequest;
  return fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    request.map((r) => encode(method, r)),
    fc.tuple(request, fc.nat()).map(([r, cut]) => {
      const b = encode(method, r);
      return b.subarray(0, cut % (b.length + 1));
    }),
    fc.tuple(request, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([r, at, byte]) => {
      const b = encode(method, r);
      if (b.length > 0) b[at % b.length] = byte;
      return b;
    }),
  );
}

const rawRun = fc
  .constantFrom<AdsMethod>('StreamAggregatedResources', 'DeltaAggregatedResources')
  .chain((method) => fc.record({ method: fc.constant(method), messages: fc.array(wireMessage(method), { minLength: 1, maxLength: 5 }) }));

type Op =
  | { op: 'subscribe'; typeUrl: string; names: string[] }
  | { op: 'unsubscribe'; typeUrl: string; names: string[] }
  | { op: 'ack' | 'nack'; message: string }
  | { op: 'made-up'; typeUrl: string; names: string[]; version: string; nonce: string }
  | { op: 'change' }
  | { op: 'pause' | 'resume' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('subscribe' as const), typeUrl, names }),
  fc.record({ op: fc.constant('unsubscribe' as const), typeUrl, names }),
  fc.record({ op: fc.constantFrom('ack' as const, 'nack' as const), message: hostileString }),
  fc.record({ op: fc.constant('made-up' as const), typeUrl, names, version: hostileString, nonce }),
  fc.record({ op: fc.constant('change' as const) }),
  fc.record({ op: fc.constantFrom('pause' as const, 'resume' as const) }),
);

const sequenceRun = fc.record({
  protocol: fc.constantFrom('sotw' as const, 'delta' as const),
  id: fc.oneof(fc.constant('fuzzed'), hostileString),
  ops: fc.array(op, { minLength: 1, maxLength: 12 }),
});

let t: TestServer;
let sotw: SotwClient;
let delta: DeltaClient;
let generation = 0;
/** The ACKs and NACKs the fuzzed clients sent of responses they received. */
const answered = { ack: 0, nack: 0 };

/** A new cluster version: the well-behaved proxies must receive it (and ACK it) on their streams. */
async function bystandersConverge(): Promise<void> {
  generation += 1;
  t.cache.set('default', { cluster: [cluster('a', 1 + (generation % 1000))], endpoint: [endpoints('a', [1001])] });
  const [s, d] = await Promise.all([sotw.next(CDS), delta.next(CDS)]);
  expect(s.resources.map((r) => r.body.connect_timeout)).toEqual([{ seconds: String(1 + (generation % 1000)) }]);
  expect(d.resources.map((r) => r.name)).toEqual(['a']);
  sotw.ack(s);
  delta.ack(d);
}

/** The server failed on something: an error logged, or a stream ended as INTERNAL. */
function failures(): unknown[] {
  return [...t.logs.filter((l) => Number(l.level) >= 50), ...t.rejected.filter((r) => r === 'internal')];
}

beforeAll(async () => {
  // Every node is described as the control plane describes it (hostile ids and metadata included),
  // and then served the one snapshot, so that every stream gets responses to ACK and NACK.
  t = await startTestServer({
    maxRequestBytes: 64 * 1024,
    maxNamesPerType: 1000,
    classify: (n) => {
      proxyClassOf(describeNode(n));
      return 'default';
    },
  });
  t.cache.set('default', { cluster: [cluster('a')], endpoint: [endpoints('a', [1001])] });
  t.cache.markReady();
  sotw = await SotwClient.connect(t.address, { node: { id: 'bystander-sotw' } });
  delta = await DeltaClient.connect(t.address, { node: { id: 'bystander-delta' } });
  sotw.subscribe(CDS);
  delta.subscribe(CDS, ['*']);
  const [s, d] = await Promise.all([sotw.next(CDS), delta.next(CDS)]);
  sotw.ack(s);
  delta.ack(d);
});

afterAll(async () => {
  sotw.close();
  delta.close();
  await t.close();
});

describe('fuzz: an ADS stream under hostile input', () => {
  it(
    'takes arbitrary DiscoveryRequest bytes without failing, and other streams keep converging',
    async () => {
      await fc.assert(
        fc.asyncProperty(rawRun, async ({ method, messages }) => {
          const before = failures().length;
          const raw = rawCall(t.address, method);
          raw.call.on('data', () => undefined); // read whatever comes, so that the status is reported
          for (const m of messages) raw.call.write(m);
          raw.call.end();
          await raw.closed;
          raw.close();
          await bystandersConverge();
          expect(failures().slice(before)).toEqual([]);
        }),
        fuzzParameters(RAW_RUNS),
      );
      if (REACHES(RAW_RUNS)) expect(new Set(t.rejected)).toEqual(new Set(['malformed', 'no_node', 'no_type_url', 'unknown_type']));
    },
    TIMEOUT,
  );

  it(
    'takes arbitrary request sequences without failing, and other streams keep converging',
    async () => {
      await fc.assert(
        fc.asyncProperty(sequenceRun, async ({ protocol, id, ops }) => {
          const before = failures().length;
          const c = protocol === 'sotw' ? await SotwClient.connect(t.address, { node: { id } }) : await DeltaClient.connect(t.address, { node: { id } });
          for (const o of ops) {
            switch (o.op) {
              case 'subscribe':
                if (c instanceof SotwClient) c.subscribe(o.typeUrl, o.names);
                else c.subscribe(o.typeUrl, o.names);
                break;
              case 'unsubscribe':
                if (c instanceof SotwClient) c.send({ typeUrl: o.typeUrl, resourceNames: [] });
                else c.send({ typeUrl: o.typeUrl, unsubscribe: o.names });
                break;
              case 'ack':
              case 'nack': {
                // The next response, if one comes (none may: a stale nonce, a NACKed version, nothing subscribed).
                const res = await c.next(undefined, ANSWER_WAIT_MS).catch(() => undefined);
                if (res === undefined) break;
                answered[o.op] += 1;
                if (c instanceof SotwClient && 'versionInfo' in res) {
                  if (o.op === 'ack') c.ack(res);
                  else c.nack(res, o.message);
                } else if (c instanceof DeltaClient && 'systemVersionInfo' in res) {
                  if (o.op === 'ack') c.ack(res);
                  else c.nack(res, o.message);
                }
                break;
              }
              case 'made-up':
                if (c instanceof SotwClient) c.send({ typeUrl: o.typeUrl, resourceNames: o.names, versionInfo: o.version, responseNonce: o.nonce });
                else c.send({ typeUrl: o.typeUrl, subscribe: o.names, initialResourceVersions: { [o.names[0] ?? 'a']: o.version }, responseNonce: o.nonce });
                break;
              case 'change':
                await bystandersConverge();
                break;
              case 'pause':
                c.pause();
                break;
              case 'resume':
                c.resume();
                break;
            }
          }
          c.close();
          await bystandersConverge();
          expect(failures().slice(before)).toEqual([]);
        }),
        fuzzParameters(SEQUENCE_RUNS),
      );
      const reached = { acks: answered.ack > 0, nacks: answered.nack > 0, nacksCounted: t.counts.nacked > 0 };
      if (REACHES(SEQUENCE_RUNS)) expect(reached).toEqual({ acks: true, nacks: true, nacksCounted: true });
    },
    TIMEOUT,
  );
});
