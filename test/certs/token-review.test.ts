/**
 * The TokenReviews of the secure xDS port under load and throttling, through a fault proxy in front of
 * the real API server: many proxies connecting at once are a queue (at most REVIEWS_IN_FLIGHT reviews
 * open, one per token), a review answered 429 is asked again after Retry-After while the stream waits,
 * and one the API server keeps refusing ends the stream UNAVAILABLE with the reason.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REVIEWS_IN_FLIGHT } from '../../src/certs/authn.ts';
import type { ServeHandle } from '../../src/pipeline/index.ts';
import { SotwClient, type ConnectOptions } from '../support/ads-client.ts';
import { sharedCertManager, type CertManager } from '../support/cert-manager.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { startFaultProxy, type FaultProxy, type RequestInfo } from '../support/fault-proxy.ts';
import type { Logs } from '../support/logs.ts';
import { SDS } from '../support/resources.ts';
import { serviceAccountToken, sidecarNode } from '../support/workloads.ts';
import { ownCertificateIssued, serveWithIssuer } from './support.ts';

const WAIT_MS = 60_000;

let env: Envtest;
let cm: CertManager;
let core: CoreV1Api;
let proxy: FaultProxy;
let dir: string;
let home: string;
let shop: string;
let handle: ServeHandle;
let logs: Logs;
const clients: SotwClient[] = [];

const isReview = (r: RequestInfo) => r.method === 'POST' && r.path.endsWith('/tokenreviews');

beforeAll(async () => {
  env = await sharedEnvtest();
  cm = await sharedCertManager(env);
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  proxy = await startFaultProxy({ url: env.url, caPem: env.caPem });
  dir = await mkdtemp(join(tmpdir(), 'trellis-token-review-'));
  home = await env.namespace('trellis');
  shop = await env.namespace('shop');
  await core.createNamespacedServiceAccount({ namespace: shop, body: { metadata: { name: 'web' } } });
  await writeFile(join(dir, 'bundle.pem'), cm.rootPem);
  ({ handle, logs } = await serveWithIssuer(env, cm, dir, home, [home, shop], join(dir, 'bundle.pem'), proxy.url));
  await ownCertificateIssued(logs, home);
}, 120_000);
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await handle?.stop();
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

const token = (): Promise<string> => serviceAccountToken(core, shop, 'web');

async function connect(pod: string, tok: string): Promise<SotwClient> {
  const opts: ConnectOptions = {
    node: sidecarNode(pod, shop, 'web'),
    tls: { rootsPem: cm.rootPem, serverName: `trellis.${home}.svc` },
    token: tok,
  };
  const c = await SotwClient.connect(`127.0.0.1:${handle.running.xdsSecurePort}`, opts);
  clients.push(c);
  return c;
}

/** Subscribes to ROOTCA and resolves with its first response's names: the stream was authenticated and served. */
async function servedRoot(c: SotwClient): Promise<string[]> {
  c.send({ typeUrl: SDS, resourceNames: ['ROOTCA'] });
  const r = await c.next(SDS, WAIT_MS);
  c.ack(r);
  return r.resources.map((x) => x.name);
}

describe('TokenReviews of the secure xDS port', () => {
  it(`keeps at most ${REVIEWS_IN_FLIGHT} open however many proxies connect at once, and reviews a token once for all its streams`, async () => {
    const reviews = proxy.track(isReview);
    const tokens = await Promise.all(Array.from({ length: (3 * REVIEWS_IN_FLIGHT) / 2 }, () => token()));
    // Each review takes a while, so that the streams pile up behind the first ones.
    proxy.setDelay(3000);
    try {
      // Every token on two streams: one review each.
      const streams = await Promise.all(tokens.flatMap((t, i) => [connect(`web-a${i}`, t), connect(`web-b${i}`, t)]));
      const served = await Promise.all(streams.map(servedRoot));
      expect(served.every((names) => names.join() === 'ROOTCA')).toBe(true);
    } finally {
      proxy.setDelay(0);
    }
    expect(reviews.total).toBe(tokens.length);
    expect(reviews.peak).toBeLessThanOrEqual(REVIEWS_IN_FLIGHT);
    // The bound was reached: without it, every token's review would have been open together.
    expect(reviews.peak).toBe(REVIEWS_IN_FLIGHT);
  }, 120_000);

  it("asks again after the API server's Retry-After when it answers 429, and the stream is served", async () => {
    const reviews = proxy.track(isReview);
    proxy.failNext(2, 429, { match: isReview, retryAfterSeconds: 1 });
    const c = await connect('web-throttled', await token());
    expect(await servedRoot(c)).toEqual(['ROOTCA']);
    expect(reviews.total).toBe(3);
    const throttled = logs.lines.filter((l) => l.msg === 'TokenReview throttled by the API server; asking again');
    expect(throttled.map((l) => [l.status, l.retryInMs])).toEqual([
      [429, 1000],
      [429, 1000],
    ]);
  }, 60_000);

  it('ends the stream UNAVAILABLE, naming the API server’s answer, when it keeps refusing for 10 s', async () => {
    proxy.failNext(1000, 503, { match: isReview, retryAfterSeconds: 2 });
    try {
      const c = await connect('web-refused', await token());
      c.send({ typeUrl: SDS, resourceNames: ['ROOTCA'] });
      const status = await c.closed();
      expect(status.code).toBe(Status.UNAVAILABLE);
      expect(status.details).toMatch(/cannot review the token now: .*503/);
    } finally {
      proxy.clearFaults();
    }
  }, 60_000);
});
