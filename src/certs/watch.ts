/**
 * One watch over a replica's CertificateRequests, shared by every request it waits on: a list, then a
 * watch from the list's resourceVersion (with bookmarks), for as long as any request waits — 200
 * requests at once are one watch on the API server, not 200. A request that starts following is told
 * the latest state of its object known so far, then each new one, and its deletion (also one before
 * the list: a request is followed only once created). A watch that
 * ends resumes from where it was; one that expired (410 Gone) lists again; a failure is retried after
 * a second, and `failure` says why until a list or watch succeeds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, getJson, watchStream, type WatchEvent } from '../sources/kube/http.js';

type Rec = Readonly<Record<string, unknown>>;
/** A request's object as last seen, or its deletion. */
export type Seen = Rec | 'deleted';

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const RETRY_MS = 1000;
/** The server ends a watch after 5 to 10 minutes; it then resumes from its last resourceVersion. */
const WATCH_TIMEOUT_S = 300;

function nameOf(obj: Rec): string {
  const meta = isRec(obj.metadata) ? obj.metadata : {};
  return typeof meta.name === 'string' ? meta.name : '';
}

function rvOf(obj: Rec): string | undefined {
  const meta = isRec(obj.metadata) ? obj.metadata : {};
  return typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? meta.resourceVersion : undefined;
}

/** One list-then-watch, from the first follower to the last one leaving. */
interface Run {
  readonly stop: AbortController;
  /** Each object's latest state while this run lasts (a deletion only while someone follows it). */
  readonly latest: Map<string, Seen>;
}

export class RequestWatch {
  private readonly followers = new Map<string, (seen: Seen) => void>();
  private run: Run | undefined;
  /** Why the last list or watch failed, until one succeeds. */
  failure: string | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    /** The collection's path: /apis/cert-manager.io/v1/namespaces/<ns>/certificaterequests. */
    private readonly path: string,
    private readonly labelSelector: string,
  ) {}

  /** Tells `on` every state of request `name` from now on, the latest known first; returns how to stop. */
  follow(name: string, on: (seen: Seen) => void): () => void {
    this.followers.set(name, on);
    if (!this.run) {
      const run: Run = { stop: new AbortController(), latest: new Map() };
      this.run = run;
      void this.loop(run);
    }
    const known = this.run.latest.get(name);
    if (known !== undefined) on(known);
    return () => {
      if (this.followers.get(name) !== on) return;
      this.followers.delete(name);
      this.run?.latest.delete(name);
      if (this.followers.size > 0 || !this.run) return;
      this.run.stop.abort();
      this.run = undefined;
    };
  }

  /** Lists, then watches from the list, until the run is stopped. */
  private async loop(run: Run): Promise<void> {
    const signal = run.stop.signal;
    let rv = '';
    while (!signal.aborted) {
      try {
        if (rv === '') rv = await this.list(run);
        rv = await this.watch(run, rv);
        this.failure = undefined;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 410) rv = '';
        this.failure = err instanceof Error ? err.message : String(err);
        await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async list(run: Run): Promise<string> {
    // Every request is followed once created: one followed before the list and missing from it was deleted
    // before the list, and no watch from the list's resourceVersion would say so.
    const followed = [...this.followers.keys()];
    const body = await getJson(this.kubeConfig, this.path, { labelSelector: this.labelSelector }, run.stop.signal);
    const list = isRec(body) ? body : {};
    const meta = isRec(list.metadata) ? list.metadata : {};
    const rv = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '';
    if (rv === '') throw new Error(`GET ${this.path}: the answer is not a list with a resourceVersion`);
    const listed = new Set<string>();
    for (const item of Array.isArray(list.items) ? (list.items as unknown[]) : []) {
      if (!isRec(item)) continue;
      listed.add(nameOf(item));
      this.seen(run, nameOf(item), item);
    }
    for (const name of followed) if (!listed.has(name)) this.seen(run, name, 'deleted');
    this.failure = undefined;
    return rv;
  }

  /** One watch from `rv`; returns where to resume ('' to list again). */
  private async watch(run: Run, from: string): Promise<string> {
    let rv = from;
    const local = new AbortController();
    const stop = AbortSignal.any([run.stop.signal, local.signal]);
    const onEvent = (event: WatchEvent): void => {
      const obj = event.object;
      if (event.type === 'ERROR') {
        rv = obj.code === 410 ? '' : rv;
        local.abort();
        return;
      }
      rv = rvOf(obj) ?? rv;
      if (event.type === 'ADDED' || event.type === 'MODIFIED') this.seen(run, nameOf(obj), obj);
      else if (event.type === 'DELETED') this.seen(run, nameOf(obj), 'deleted');
    };
    const query = { labelSelector: this.labelSelector, resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(WATCH_TIMEOUT_S) };
    try {
      await watchStream(this.kubeConfig, this.path, query, stop, { opened: () => void (this.failure = undefined), onEvent });
    } catch (err) {
      if (!local.signal.aborted) throw err;
    }
    return rv;
  }

  private seen(run: Run, name: string, state: Seen): void {
    if (name === '' || this.run !== run) return;
    const follower = this.followers.get(name);
    if (state === 'deleted' && !follower) run.latest.delete(name);
    else run.latest.set(name, state);
    follower?.(state);
  }
}
