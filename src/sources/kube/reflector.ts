/**
 * One informer: lists a kind (in one namespace, or the whole cluster), then watches it from the
 * list's resourceVersion, for as long as the source runs. Why not client-node's `makeInformer`: its
 * ListWatch deletes the objects a relist lacks one by one and then adds the new ones (consumers see
 * every intermediate state), never retries a failed list or a refused watch (it only emits 'error'),
 * restarts an ended watch at once without backoff, asks for no bookmarks, and hides the Status body
 * and Retry-After of an error. Here:
 *
 * - a list is paged and validated aside, then swapped in whole (store.ts): a relist never shrinks
 *   the cache, even briefly, and a failed list leaves it as it was;
 * - the watch starts at the list's resourceVersion with bookmarks, so a dropped or timed-out watch
 *   resumes where it was without a relist;
 * - 410 Gone, as an HTTP status or as an ERROR event in the stream, leads to a relist;
 * - every retry waits for the backoff (Retry-After honoured); `failure` says why the last request
 *   failed, until one succeeds. Until the first list, each retry is logged as a warning with its
 *   delay (`waiting for the first list of Services: connect ECONNREFUSED …; retrying in 1.6s`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions } from './backoff.js';
import { ApiError, getJson, watchStream, type WatchEvent } from './http.js';
import { collectionPath, kindTitle, type KindSpec } from './kinds.js';
import { ObjectCache } from './store.js';

export interface ReflectorStats {
  /** Lists completed, the first included. */
  lists: number;
  /** Lists completed after the first (after a 410 Gone). */
  relists: number;
  listFailures: number;
  /** Watches the API server accepted. */
  watches: number;
  /** Accepted watches that ended: closed by the server, dropped, or timed out. */
  watchEnds: number;
  /** Watch requests refused or unreachable. */
  watchFailures: number;
  /** 410 Gone answers and ERROR events. */
  expired: number;
  /** ADDED, MODIFIED and DELETED events handled. */
  events: number;
}

export const EMPTY_STATS: Readonly<ReflectorStats> = {
  lists: 0,
  relists: 0,
  listFailures: 0,
  watches: 0,
  watchEnds: 0,
  watchFailures: 0,
  expired: 0,
  events: 0,
};

export interface ReflectorOptions {
  readonly spec: KindSpec;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly backoff: BackoffOptions;
  readonly signal: AbortSignal;
  /** What the cache serves or reports changed. */
  onChange(reflector: Reflector): void;
  /** `synced`, `failure` or `missing` changed. */
  onStatus(reflector: Reflector): void;
}

const PAGE_SIZE = 500;
const LIST_TIMEOUT_MS = 60_000;
/** The server ends a watch after 5 to 10 minutes, as client-go asks; the client gives up 30 s later. */
const WATCH_TIMEOUT_S = 300;
const WATCH_GRACE_S = 30;

interface Page {
  readonly items: readonly Readonly<Record<string, unknown>>[];
  readonly resourceVersion: string;
  readonly continue?: string;
}

function readPage(body: unknown, path: string): Page {
  const list = body as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } } | null;
  const rv = list?.metadata?.resourceVersion;
  if (!list || !Array.isArray(list.items) || typeof rv !== 'string' || rv === '') {
    throw new Error(`GET ${path}: the answer is not a list with a resourceVersion`);
  }
  const items = list.items.filter((i): i is Readonly<Record<string, unknown>> => typeof i === 'object' && i !== null);
  const cont = list.metadata?.continue;
  return { items, resourceVersion: rv, ...(typeof cont === 'string' && cont !== '' ? { continue: cont } : {}) };
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return typeof e.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

export class Reflector {
  readonly cache: ObjectCache;
  readonly stats: ReflectorStats = { ...EMPTY_STATS };
  /** Listed once (or found not installed, for an optional kind). */
  synced = false;
  /** Why the last list or watch request failed, until one succeeds. */
  failure: string | undefined;
  /** An optional kind whose list answered as its `optional` says: its CRD is not installed, or it may not be listed. */
  missing = false;
  /** `pods in shop`, `namespaces`: for logs and reasons. */
  readonly name: string;
  /** `Pods in shop`, `Namespaces`: what it lists, as people write it. */
  readonly title: string;
  /** The error alone of the last failed request, until one succeeds. */
  private cause: string | undefined;
  private resourceVersion = '';
  private readonly backoff: Backoff;
  private readonly path: string;
  private readonly log: Logger;

  constructor(private readonly opts: ReflectorOptions) {
    this.cache = new ObjectCache(opts.spec);
    this.backoff = new Backoff(opts.backoff);
    this.path = collectionPath(opts.spec, opts.namespace);
    const where = opts.namespace === undefined ? '' : ` in ${opts.namespace}`;
    this.name = `${opts.spec.plural}${where}`;
    this.title = `${kindTitle(opts.spec)}${where}`;
    this.log = opts.logger.child({ informer: this.name });
  }

  get spec(): KindSpec {
    return this.opts.spec;
  }

  /** Until the first list: the error that keeps it from listing, if one does. */
  get waitingOn(): string | undefined {
    return this.synced ? undefined : this.cause;
  }

  /** Lists and watches until the signal aborts. */
  async run(): Promise<void> {
    const { signal } = this.opts;
    while (!signal.aborted) {
      let phase: 'list' | 'watch' = 'list';
      let failure: { message: string; retryAfterMs?: number } | undefined;
      try {
        if (this.resourceVersion === '') await this.list();
        phase = 'watch';
        await this.watch();
      } catch (err) {
        if (signal.aborted) return;
        failure = this.failed(err, phase);
      }
      const delayMs = this.backoff.next(failure?.retryAfterMs);
      if (failure) this.logRetry(failure.message, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private logRetry(failure: string, delayMs: number): void {
    const retrying = `retrying in ${(delayMs / 1000).toFixed(1)}s`;
    if (this.synced) this.log.debug({ err: this.cause, delayMs }, `${failure}; ${retrying}`);
    else this.log.warn({ err: this.cause, delayMs }, `waiting for the first list of ${this.title}: ${this.cause ?? failure}; ${retrying}`);
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private setStatus(next: { synced?: boolean; failure?: string | undefined; missing?: boolean }): void {
    const before = [this.synced, this.failure, this.missing];
    if (next.synced !== undefined) this.synced = next.synced;
    if ('failure' in next) this.failure = next.failure;
    if (this.failure === undefined) this.cause = undefined;
    if (next.missing !== undefined) this.missing = next.missing;
    if (before[0] !== this.synced || before[1] !== this.failure || before[2] !== this.missing) this.opts.onStatus(this);
  }

  /** Handles a failed list or watch: a failure (with the server's Retry-After, if any) or, for an expected answer, none. */
  private failed(err: unknown, phase: 'list' | 'watch'): { message: string; retryAfterMs?: number } | undefined {
    if (err instanceof ApiError && err.status === 410) {
      this.stats.expired += 1;
      this.resourceVersion = '';
      this.log.debug({ phase }, 'resourceVersion expired (410 Gone); relisting');
      return undefined;
    }
    if (err instanceof ApiError && err.status === this.opts.spec.optional?.status) {
      // Not installed (or uninstalled, which deletes its objects), or not permitted: there are none.
      this.resourceVersion = '';
      if (this.cache.beginReplace().commit()) this.opts.onChange(this);
      this.setStatus({ synced: true, missing: true, failure: undefined });
      return undefined;
    }
    if (phase === 'list') this.stats.listFailures += 1;
    else this.stats.watchFailures += 1;
    this.cause = describe(err);
    const failure = `cannot ${phase} ${this.name}: ${this.cause}`;
    this.setStatus({ failure });
    return { message: failure, ...(err instanceof ApiError && err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }

  /** Lists every page, validating aside, and swaps the result in only when the last page is there. */
  private async list(): Promise<void> {
    const replacement = this.cache.beginReplace();
    let page: Page | undefined;
    do {
      const query = { ...this.selectors(), limit: String(PAGE_SIZE), continue: page?.continue };
      const signal = AbortSignal.any([this.opts.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
      page = readPage(await getJson(this.opts.kubeConfig, this.path, query, signal), this.path);
      for (const item of page.items) replacement.add(item);
    } while (page.continue !== undefined);
    const changed = replacement.commit();
    this.resourceVersion = page.resourceVersion;
    this.stats.lists += 1;
    if (this.stats.lists > 1) this.stats.relists += 1;
    this.log.debug({ objects: this.cache.size, resourceVersion: this.resourceVersion, changed }, 'listed');
    if (changed) this.opts.onChange(this);
    this.setStatus({ synced: true, missing: false, failure: undefined });
  }

  /** Watches from the current resourceVersion until the stream ends; throws only if the watch is refused. */
  private async watch(): Promise<void> {
    const stop = new AbortController();
    const abort = (): void => stop.abort();
    this.opts.signal.addEventListener('abort', abort, { once: true });
    const timeoutS = Math.round(WATCH_TIMEOUT_S * (1 + Math.random()));
    const timer = setTimeout(abort, (timeoutS + WATCH_GRACE_S) * 1000);
    const query = { ...this.selectors(), resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutS) };
    let opened = false;
    let end: 'expired' | 'error' | undefined;
    try {
      await watchStream(this.opts.kubeConfig, this.path, query, stop.signal, {
        opened: () => {
          opened = true;
          this.stats.watches += 1;
          this.setStatus({ failure: undefined });
        },
        onEvent: (event) => {
          end = this.apply(event);
          if (end) stop.abort();
        },
      });
    } catch (err) {
      if (!opened) throw err;
      if (!end && !this.opts.signal.aborted) this.log.debug({ err: describe(err) }, 'watch broke; resuming');
    } finally {
      clearTimeout(timer);
      this.opts.signal.removeEventListener('abort', abort);
    }
    this.stats.watchEnds += 1;
    if (end === 'expired') {
      this.stats.expired += 1;
      this.resourceVersion = '';
      this.log.debug('watch expired (410 Gone); relisting');
    }
  }

  /** One watch event; says when the watch must end. */
  private apply(event: WatchEvent): 'expired' | 'error' | undefined {
    const { type, object } = event;
    let changed = false;
    if (type === 'ADDED' || type === 'MODIFIED') changed = this.cache.upsert(object);
    else if (type === 'DELETED') changed = this.cache.remove(object);
    else if (type === 'ERROR') {
      this.log.debug({ status: object }, 'watch ERROR event');
      return object.code === 410 ? 'expired' : 'error';
    } else if (type !== 'BOOKMARK') return undefined;
    const meta = object.metadata as { name?: unknown; namespace?: unknown; resourceVersion?: unknown } | undefined;
    if (type !== 'BOOKMARK') this.stats.events += 1;
    this.log.trace({ type, name: meta?.name, namespace: meta?.namespace, resourceVersion: meta?.resourceVersion, changed }, 'watch event');
    if (typeof meta?.resourceVersion === 'string' && meta.resourceVersion !== '') this.resourceVersion = meta.resourceVersion;
    if (changed) this.opts.onChange(this);
    return undefined;
  }
}
