/**
 * The Kubernetes source: informers for Namespaces, Nodes, Services, EndpointSlices, Pods and
 * TrafficPolicies, folded into one MeshInputs value. It resolves its start only once every informer
 * has listed once; after that, every change is told with onChange, at most once per turn of the event
 * loop; until then it says what it waits for (`waiting for the first list of Services: connect
 * ECONNREFUSED …`). While any informer cannot reach the API server it reports `connected: false`
 * and keeps serving what it knew. An optional kind that is not available (the TrafficPolicy CRD missing, Nodes not
 * permitted) is a warning, not a failure. Nodes are cluster-scoped: they are watched cluster-wide
 * whatever namespaces are, since an endpoint in a watched namespace may run on any node.
 */
import { setMaxListeners } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Input, MeshInputs } from '../../model/inputs.js';
import { diagnostic, sortDiagnostics, type Diagnostic } from '../../diagnostics.js';
import type { Source, SourceState, StartHooks } from '../source.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { ALL_KINDS, kindTitle, NAMESPACED_KINDS, NAMESPACES, NODES, type KindKey, type KindSpec, type Unavailable } from './kinds.js';
import { EMPTY_STATS, Reflector, type ReflectorStats } from './reflector.js';
import type { Entry } from './store.js';

export interface KubeSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** Only these namespaces: one informer per namespace and kind. */
  readonly namespaces?: readonly string[];
  /** Only namespaces with these labels (a label selector); the other kinds are watched cluster-wide and filtered. */
  readonly namespaceSelector?: string;
  readonly logger: Logger;
  /** For relists and watch restarts; default 800 ms doubling up to 30 s. */
  readonly relistBackoff?: { initialMs: number; maxMs: number };
}

export type KubeSourceStats = Readonly<Record<KindKey, Readonly<ReflectorStats>>>;

export type KubeSourceState = SourceState;

export interface KubeSource extends Source {
  current(): KubeSourceState;
  /**
   * The newest version of one object as last watched, whatever changed in it: unlike current(),
   * which is rebuilt only when something that matters to the model changes, this sees a status
   * written a moment ago. Undefined when it is not known.
   */
  stored(key: KindKey, namespace: string, name: string): unknown;
  /** Counters per kind, summed over namespaces. */
  stats(): KubeSourceStats;
}

export { CRD_MISSING, NODES_FORBIDDEN } from './kinds.js';

interface Plan {
  readonly spec: KindSpec;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

function plan(opts: KubeSourceOptions): Plan[] {
  if (opts.namespaces !== undefined && opts.namespaceSelector !== undefined) {
    throw new Error('the Kubernetes source takes a list of namespaces or a namespace selector, not both');
  }
  if (opts.namespaces !== undefined) {
    const names = [...new Set(opts.namespaces)].sort();
    if (names.length === 0) throw new Error('the list of namespaces to watch is empty');
    const perNamespace = names.flatMap((ns) => [
      { spec: NAMESPACES, fieldSelector: `metadata.name=${ns}` },
      ...NAMESPACED_KINDS.map((spec) => ({ spec, namespace: ns })),
    ]);
    return [{ spec: NODES }, ...perNamespace];
  }
  if (opts.namespaceSelector !== undefined) {
    return [{ spec: NAMESPACES, labelSelector: opts.namespaceSelector }, { spec: NODES }, ...NAMESPACED_KINDS.map((spec) => ({ spec }))];
  }
  return ALL_KINDS.map((spec) => ({ spec }));
}

function compareEntries(a: Entry, b: Entry): number {
  const [x, y] = a.namespace === b.namespace ? [a.name, b.name] : [a.namespace, b.namespace];
  return x < y ? -1 : x > y ? 1 : 0;
}

interface KindView {
  readonly items: readonly Input<unknown>[];
  readonly problems: readonly Diagnostic[];
}

const EMPTY_VIEW: KindView = { items: [], problems: [] };

/** The order in which what the source waits for is told: the mesh's own kinds first. */
const WAITING_ORDER: readonly KindSpec[] = [...NAMESPACED_KINDS, NAMESPACES, NODES];

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** Settles as `promise` does, or rejects once `signal` aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/**
 * Every reflector listens on the source's signal, for its watch and for the request under way (two
 * or three at once each, all removed when done): more than the ten Node warns about by default.
 */
function withListeners(c: AbortController): AbortController {
  setMaxListeners(ALL_KINDS.length * 4, c.signal);
  return c;
}

class KubeSourceRunner implements KubeSource {
  private readonly controller = withListeners(new AbortController());
  private readonly reflectors: Reflector[];
  private readonly views = new Map<KindKey, KindView>();
  private readonly dirty = new Set<KindKey>(ALL_KINDS.map((k) => k.key));
  private state: KubeSourceState | undefined;
  private emitted: KubeSourceState | undefined;
  private emitScheduled = false;
  private ready = false;
  private connected = true;
  private reason: string | undefined;
  /** The optional kinds not available now. */
  private missing: ReadonlySet<KindSpec> = new Set();
  private readonly log: Logger;
  private readonly whenSynced: Promise<void>;
  private resolveSynced: () => void = () => undefined;
  private hooks: StartHooks = {};
  /** What it said it waits for, last. */
  private waitingFor: string | undefined;

  constructor(
    private readonly opts: KubeSourceOptions,
    private readonly onChange: (state: KubeSourceState) => void,
  ) {
    this.log = opts.logger.child({ source: 'kubernetes' });
    this.whenSynced = new Promise((resolve) => (this.resolveSynced = resolve));
    const backoff = opts.relistBackoff ?? DEFAULT_BACKOFF;
    const signal = this.controller.signal;
    this.reflectors = plan(opts).map(
      (p) =>
        new Reflector({
          ...p,
          kubeConfig: opts.kubeConfig,
          logger: this.log,
          backoff,
          signal,
          onChange: (r) => this.changed(r),
          onStatus: () => this.statusChanged(),
        }),
    );
  }

  /** Starts every informer; resolves once each has listed once (rejects, closed, if the start is given up first). */
  async start(hooks: StartHooks): Promise<KubeSource> {
    hooks.signal?.throwIfAborted();
    this.hooks = hooks;
    for (const r of this.reflectors) {
      void r.run().catch((err: unknown) => this.log.error({ err, informer: r.name }, 'informer stopped unexpectedly'));
    }
    const kinds = [...new Set(this.reflectors.map((r) => kindTitle(r.spec)))];
    this.log.info({ server: this.opts.kubeConfig.getCurrentCluster()?.server }, `waiting for the first list of ${listOf(kinds)}`);
    this.tellWaiting();
    try {
      await unlessAborted(this.whenSynced, hooks.signal);
    } catch (err) {
      this.close();
      throw err;
    }
    return this;
  }

  current(): KubeSourceState {
    if (!this.state) this.state = this.build();
    return this.state;
  }

  close(): void {
    this.controller.abort();
  }

  stored(key: KindKey, namespace: string, name: string): unknown {
    for (const r of this.reflectors) {
      if (r.spec.key !== key) continue;
      const entry = r.cache.get(namespace, name);
      if (entry?.value !== undefined) return entry.value;
    }
    return undefined;
  }

  stats(): KubeSourceStats {
    const out = Object.fromEntries(ALL_KINDS.map((k) => [k.key, { ...EMPTY_STATS }])) as Record<KindKey, ReflectorStats>;
    for (const r of this.reflectors) {
      const sum = out[r.spec.key];
      for (const key of Object.keys(sum) as (keyof ReflectorStats)[]) sum[key] += r.stats[key];
    }
    return out;
  }

  private changed(r: Reflector): void {
    this.dirty.add(r.spec.key);
    // Which namespaces are selected changed: every kind is filtered anew.
    if (r.spec === NAMESPACES && this.opts.namespaceSelector !== undefined) for (const k of ALL_KINDS) this.dirty.add(k.key);
    this.touch();
  }

  /** Something in the state changed: rebuild it on the next read, and tell onChange on the next turn. */
  private touch(): void {
    this.state = undefined;
    if (!this.ready || this.emitScheduled || this.controller.signal.aborted) return;
    this.emitScheduled = true;
    setImmediate(() => this.emit());
  }

  private emit(): void {
    this.emitScheduled = false;
    if (this.controller.signal.aborted) return;
    const state = this.current();
    if (state === this.emitted) return;
    this.emitted = state;
    try {
      this.onChange(state);
    } catch (err) {
      this.log.error({ err }, 'onChange handler failed');
    }
  }

  private statusChanged(): void {
    const failing = this.reflectors.filter((r) => r.failure !== undefined);
    const connected = failing.length === 0;
    if (connected !== this.connected) this.reason = failing[0]?.failure;
    // Before the first sync nothing is served yet: the informers say what they wait for instead.
    if (connected !== this.connected && this.ready) {
      if (connected) this.log.info('in step with the API server again');
      else this.log.warn({ reason: this.reason }, 'out of step with the API server (cannot list or watch); serving the last known state');
    }
    const missingChanged = this.missingChanged();
    const changed = connected !== this.connected || missingChanged;
    this.connected = connected;
    if (changed) this.touch();
    if (this.ready) return;
    if (this.reflectors.every((r) => r.synced)) this.becomeReady();
    else this.tellWaiting();
  }

  /**
   * Before the first sync, what it waits for: the first informer not listed yet (one that fails
   * before one merely in flight, the mesh's own kinds first) with its error, then the other kinds.
   */
  private tellWaiting(): void {
    const rank = (r: Reflector): number => (r.waitingOn === undefined ? WAITING_ORDER.length : 0) + WAITING_ORDER.indexOf(r.spec);
    const [first, ...rest] = this.reflectors.filter((r) => !r.synced).sort((a, b) => rank(a) - rank(b));
    if (!first) return;
    const others = WAITING_ORDER.filter((k) => rest.some((r) => r.spec === k))
      .map(kindTitle)
      .filter((t) => t !== first.title);
    const reason = `waiting for the first list of ${first.title}${first.waitingOn ? `: ${first.waitingOn}` : ''}${others.length > 0 ? `; also of ${listOf(others)}` : ''}`;
    if (reason === this.waitingFor) return;
    this.waitingFor = reason;
    this.hooks.waiting?.(reason);
  }

  /** Notes which optional kinds are missing, logging each that goes or comes back; says whether any did. */
  private missingChanged(): boolean {
    const missing = new Set(this.reflectors.filter((r) => r.missing).map((r) => r.spec));
    const gone = [...missing].filter((k) => !this.missing.has(k));
    const back = [...this.missing].filter((k) => !missing.has(k));
    for (const k of gone) if (k.optional) this.log.warn(k.optional.message);
    for (const k of back) if (k.optional) this.log.info(k.optional.available);
    this.missing = missing;
    return gone.length + back.length > 0;
  }

  private becomeReady(): void {
    const state = this.current();
    this.ready = true;
    this.emitted = state;
    const counts = Object.fromEntries(Object.entries(state.inputs).map(([k, v]) => [k, (v as unknown[]).length]));
    this.log.info({ ...counts, connected: state.connected }, 'synced with the API server');
    this.resolveSynced();
  }

  private selectedNamespaces(): ReadonlySet<string> | undefined {
    if (this.opts.namespaceSelector === undefined) return undefined;
    const names = new Set<string>();
    for (const r of this.reflectors) {
      if (r.spec !== NAMESPACES) continue;
      for (const e of r.cache.values()) if (e.value !== undefined) names.add(e.name);
    }
    return names;
  }

  private view(key: KindKey, selected: ReadonlySet<string> | undefined): KindView {
    const entries: Entry[] = [];
    for (const r of this.reflectors) {
      if (r.spec.key !== key) continue;
      for (const e of r.cache.values()) if (!selected || !r.spec.namespaced || selected.has(e.namespace)) entries.push(e);
    }
    entries.sort(compareEntries);
    const items = entries.flatMap((e) => (e.value === undefined ? [] : [{ object: e.value, origin: {} }]));
    const view = { items, problems: entries.flatMap((e) => e.problems) };
    const before = this.views.get(key)?.items.length;
    if (key === 'trafficPolicies' && before !== items.length) this.log.info({ count: items.length }, 'TrafficPolicies read');
    return view;
  }

  private build(): KubeSourceState {
    const selected = this.selectedNamespaces();
    for (const key of this.dirty) this.views.set(key, this.view(key, selected));
    this.dirty.clear();
    const items = (key: KindKey): readonly Input<unknown>[] => (this.views.get(key) ?? EMPTY_VIEW).items;
    const inputs = {
      namespaces: items('namespaces'),
      nodes: items('nodes'),
      services: items('services'),
      endpointSlices: items('endpointSlices'),
      pods: items('pods'),
      trafficPolicies: items('trafficPolicies'),
    } as MeshInputs;
    const problems = [...this.views.values()].flatMap((v) => v.problems);
    for (const u of [...this.missing].flatMap((k): Unavailable[] => (k.optional ? [k.optional] : []))) {
      problems.push(diagnostic('warning', u.object, undefined, u.message));
    }
    return {
      inputs,
      problems: sortDiagnostics(problems),
      connected: this.connected,
      ...(this.reason !== undefined && !this.connected ? { reason: this.reason } : {}),
    };
  }
}

/**
 * The Kubernetes source. The returned function starts the informers and resolves once every one has
 * listed once (a missing TrafficPolicy CRD, or Nodes it may not list, count as listed, with a warning).
 */
export function startKubeSource(opts: KubeSourceOptions): (onChange: (state: KubeSourceState) => void, hooks?: StartHooks) => Promise<KubeSource> {
  return async (onChange, hooks = {}) => new KubeSourceRunner(opts, onChange).start(hooks);
}
