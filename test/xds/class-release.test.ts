/**
 * Proxy classes are released: a class with no connected proxy is dropped after the grace period,
 * with its snapshot, its cache entries and its errors, so connect-and-leave churn leaves nothing
 * behind and a model change rebuilds only the classes in use.
 */
import { EventEmitter, once } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotBuilder } from '../../src/pipeline/snapshots.ts';
import { classifyNode } from '../../src/translate/proxy.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { NO_OBSERVER } from '../../src/xds/status.ts';
import { SotwClient } from '../support/ads-client.ts';
import { CDS } from '../support/resources.ts';
import { fullGc } from '../support/gc.ts';
import { modelOf, port, service } from '../translate/model-fixtures.ts';

/** Distinct proxies that connect and leave, as many as the reproduction. */
const CHURN = 10_000;
const BATCH = 50;
const WARMUP = 1000;
/**
 * What the heap may keep after the churn (bytes; 1.7 MB measured, JIT code mostly): with per-model
 * translation memos keyed by the pod name a proxy gives, 10 000 made-up pods kept 11.6 MB; before
 * classes were released, each kept its snapshot, cache entries and errors too (RSS 162 → 340 MB).
 */
const RETAINED_MAX = 4 * 1024 * 1024;

/** The heap in use after full collections. */
function heapAfterGc(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

/** Two services claiming one ClusterIP: an error in every sidecar's translation, so each class holds errors. */
const model = (p = 5433) =>
  modelOf([
    service('default', 'a', { clusterIP: '10.0.0.1', ports: [port('tcp', 5432, 'tcp')] }),
    service('default', 'b', { clusterIP: '10.0.0.1', ports: [port('tcp', p, 'tcp')] }),
  ]);

interface Plane {
  cache: SnapshotCache;
  server: AdsServer;
  builder: SnapshotBuilder;
  address: string;
  demanded: string[];
  /** Emits 'closed' when the server closes a stream. */
  events: EventEmitter;
  /** Resolves once `n` classes have been released in all. */
  released(n: number): Promise<void>;
}

const teardown: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const t of teardown.splice(0).reverse()) await t();
});

async function startPlane(classGraceMs: number): Promise<Plane> {
  const cache = new SnapshotCache();
  const demanded: string[] = [];
  let releasedCount = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const logger = pino({ level: 'silent' });
  const events = new EventEmitter();
  const server: AdsServer = new AdsServer({
    cache,
    classify: classifyNode,
    logger,
    classGraceMs,
    observer: { ...NO_OBSERVER, streamClosed: () => events.emit('closed') },
    onDemand: (cls) => {
      demanded.push(cls);
      builder.demand(cls);
    },
    onRelease: (cls) => {
      builder.release(cls);
      releasedCount++;
      for (const w of waiters.filter((x) => x.n <= releasedCount)) w.resolve();
    },
  });
  const builder = new SnapshotBuilder(cache, () => server.classesInUse(), logger);
  builder.setModel(model());
  const p = await server.listen('127.0.0.1', 0);
  teardown.push(() => server.close());
  return {
    cache,
    server,
    builder,
    address: `127.0.0.1:${p}`,
    demanded,
    events,
    released: (n) => (releasedCount >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

async function connect(plane: Plane, id: string): Promise<SotwClient> {
  const c = await SotwClient.connect(plane.address, { node: { id } });
  c.subscribe(CDS);
  await c.next(CDS);
  return c;
}

/** `n` distinct proxies connect, get their clusters and leave, BATCH at a time; the most classes held at once. */
async function churn(plane: Plane, prefix: string, n: number): Promise<number> {
  let peak = 0;
  for (let i = 0; i < n; i += BATCH) {
    const batch = await Promise.all(Array.from({ length: BATCH }, (_, j) => connect(plane, `${prefix}-${i + j}.default`)));
    peak = Math.max(peak, plane.cache.classes().length);
    for (const c of batch) c.close();
  }
  return peak;
}

function held(plane: Plane) {
  return {
    serverClasses: plane.server.classesHeld,
    cacheClasses: plane.cache.classes().length,
    cacheEntries: plane.cache.size,
    errorClasses: plane.builder.classesTracked,
  };
}

describe('proxy classes are released', () => {
  it(
    `returns classes, cache entries, memory and per-change work to baseline after ${CHURN} distinct proxies connect and leave`,
    { timeout: 300_000 },
    async () => {
      const plane = await startPlane(20);
      const stayer = await connect(plane, 'stayer.default');
      teardown.push(() => stayer.close());
      // A first churn warms up what connections allocate once (gRPC's, the JIT's compiled code), so the baseline is steady.
      await churn(plane, 'warm', WARMUP);
      await plane.released(WARMUP);
      plane.builder.setModel(model(5434));
      const baseline = held(plane);
      const baselineWork = plane.builder.lastBuild.classes;
      expect(baseline).toMatchObject({ serverClasses: 1, cacheClasses: 1, errorClasses: 1 });
      expect(baselineWork).toBe(1);
      const heapBefore = heapAfterGc();

      const peak = await churn(plane, 'churn', CHURN);
      expect(peak).toBeGreaterThan(BATCH);
      await plane.released(WARMUP + CHURN);

      expect(held(plane)).toEqual(baseline);
      const retained = heapAfterGc() - heapBefore;
      expect(retained, `heap kept after the churn: ${(retained / 1024 / 1024).toFixed(1)} MB`).toBeLessThan(RETAINED_MAX);
      plane.builder.setModel(model(5435));
      expect(plane.builder.lastBuild.classes).toBe(baselineWork);
      expect(held(plane)).toEqual(baseline);
    },
  );

  it('keeps a class through the grace period: a proxy that reconnects within it pays no rebuild', async () => {
    const plane = await startPlane(60_000);
    const first = await connect(plane, 'p.default');
    const closed = once(plane.events, 'closed');
    first.close();
    await closed;
    expect(held(plane)).toMatchObject({ serverClasses: 1, cacheClasses: 1 });
    const encodes = plane.cache.encodes;
    const again = await connect(plane, 'p.default');
    teardown.push(() => again.close());
    expect(plane.demanded).toEqual(['sidecar/default/p']);
    expect(plane.cache.encodes).toBe(encodes);
  });
});
