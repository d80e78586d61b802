/**
 * For the end-to-end fault tests (kube-faults.test.ts): a client calling continuously in the
 * background, a log of the endpoint count Trellis serves for one cluster, and a wait for the
 * watches to be open again through the fault proxy.
 */
import { decodeAny } from '../../src/envoy/codec.ts';
import type { KubeSource, KubeSourceStats } from '../../src/sources/kube/index.ts';
import type { SnapshotCache } from '../../src/xds/cache.ts';
import type { FaultProxy } from '../support/fault-proxy.ts';
import type { CallTally, XdsClientProcess } from '../support/xds-app.ts';

export type Kind = keyof KubeSourceStats;

/** One watch per kind in a single namespace, and the substring that tells its requests apart. */
export const WATCHES: readonly (readonly [Kind, string])[] = [
  ['namespaces', '/api/v1/namespaces?'],
  ['nodes', '/api/v1/nodes?'],
  ['services', '/services?'],
  ['endpointSlices', '/endpointslices?'],
  ['pods', '/pods?'],
  ['trafficPolicies', '/trafficpolicies?'],
];

/** Rejects with `what` if `p` has not settled within `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once, for every kind, a watch opened through the proxy after which `done(kind)` holds
 * (e.g. "relisted since"): every watch opening is an event, checked as it comes. Call it before
 * the fault, so that no opening is missed.
 */
export function watchesBack(proxy: FaultProxy, done: (kind: Kind) => boolean, timeoutMs = 20_000): Promise<unknown> {
  const each = WATCHES.map(async ([kind, path]) => {
    do await proxy.nextWatch(path);
    while (!done(kind));
  });
  return within(timeoutMs, 'every watch open again', Promise.all(each));
}

/** What changed in the source's counters since `before`, per kind. */
export function statsDelta(source: KubeSource, before: KubeSourceStats): Record<Kind, Record<string, number>> {
  const now = source.stats();
  const out = {} as Record<Kind, Record<string, number>>;
  for (const [kind] of WATCHES) {
    const b = before[kind] as unknown as Record<string, number>;
    const n = now[kind] as unknown as Record<string, number>;
    out[kind] = Object.fromEntries(Object.keys(n).map((k) => [k, (n[k] ?? 0) - (b[k] ?? 0)]));
  }
  return out;
}

/**
 * A client calling without pause, in batches of `batch` calls (`concurrency` at a time) made in the
 * client's process; every batch completed is an event the test can wait for.
 */
export class Traffic {
  readonly ok: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  batches = 0;
  private running = true;
  private waiters: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: Error | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: XdsClientProcess,
    private readonly batch = 40,
    private readonly concurrency = 4,
  ) {
    this.loop = this.run();
    this.loop.catch(() => undefined);
  }

  get calls(): number {
    return [...Object.values(this.ok), ...Object.values(this.errors)].reduce((a, b) => a + b, 0);
  }

  private async run(): Promise<void> {
    try {
      while (this.running) {
        const tally = await this.client.callMany(this.batch, { concurrency: this.concurrency });
        for (const [k, v] of Object.entries(tally.ok)) this.ok[k] = (this.ok[k] ?? 0) + v;
        for (const [k, v] of Object.entries(tally.errors)) this.errors[k] = (this.errors[k] ?? 0) + v;
        this.batches++;
        const due = this.waiters.filter((w) => w.at <= this.batches);
        this.waiters = this.waiters.filter((w) => w.at > this.batches);
        for (const w of due) w.resolve();
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const w of this.waiters) w.reject(err);
      this.waiters = [];
      throw err;
    }
  }

  /** Resolves once `n` more batches have completed: every call in them answered or failed. */
  next(n = 1): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ at: this.batches + n, resolve, reject }));
  }

  /** Lets the batch in flight finish and returns every reply and error tallied. */
  async stop(): Promise<CallTally & { calls: number }> {
    this.running = false;
    await this.loop;
    return { ok: { ...this.ok }, errors: { ...this.errors }, calls: this.calls };
  }
}

/** The number of endpoints (over every locality) in an encoded ClusterLoadAssignment. */
export function endpointCount(any: Uint8Array): number {
  const cla = decodeAny(any) as { endpoints?: { lb_endpoints?: unknown[] }[] };
  return (cla.endpoints ?? []).reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0);
}

/**
 * Every endpoint count Trellis put in one ClusterLoadAssignment of one proxy class (what every proxy
 * of the class receives), from the cache's change events. Once the test has seen `reach(n)`, fewer
 * than n is a shrink, recorded with when it happened, unless the test lowers the floor itself.
 */
export class EndpointLog {
  readonly samples: number[] = [];
  shrinks: string[] = [];
  private floor = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly started = performance.now();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly proxyClass: string,
    private readonly cla: string,
  ) {
    cache.onChange((change) => {
      if (change.proxyClass !== proxyClass || !change.kinds.has('endpoint')) return;
      const entry = change.snapshot.endpoint.entries.get(cla);
      const count = entry ? endpointCount(entry.any) : 0;
      this.samples.push(count);
      if (count < this.floor) {
        const at = Math.round(performance.now() - this.started);
        this.shrinks.push(`${cla}: ${count} endpoint(s), expected at least ${this.floor}, at +${at} ms`);
      }
      const due = this.waiters.filter((w) => w.n === count);
      this.waiters = this.waiters.filter((w) => w.n !== count);
      for (const w of due) w.resolve();
    });
  }

  /** The count served now (0 when there is no such assignment). */
  current(): number {
    const entry = this.cache.get(this.proxyClass)?.endpoint.entries.get(this.cla);
    return entry ? endpointCount(entry.any) : 0;
  }

  /** Resolves once the assignment has exactly `n` endpoints; from then on, fewer is a shrink. */
  async reach(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.current() !== n) {
      await within(timeoutMs, `${this.cla} with ${n} endpoints (now ${this.current()})`, new Promise<void>((resolve) => this.waiters.push({ n, resolve })));
    }
    this.floor = n;
  }
}
