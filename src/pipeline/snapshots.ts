/**
 * Keeps the cache's snapshots in step with the model: every proxy class in use is translated again
 * when the model changes, and a class seen for the first time is translated on demand. Errors are
 * reported per object (the control plane logs them, once), and each bad resource keeps its last
 * good version (the cache does that).
 *
 * What every sidecar shares (its outbound lists) is encoded with each model, before any sidecar
 * asks: the first sidecar of a pod costs its own resources (inbound, its namespace's routes), not
 * the mesh's. Translation hands every class the same lists where they are the same, so a change
 * costs each class what changed for it.
 *
 * A change may be built in turns (setModelInTurns): a batch of classes per turn of the event loop,
 * each class's snapshot set whole and synchronously, so the responses of the first classes leave
 * (and their ACKs are read) while the rest are built. A newer model stops a build under way.
 */
import type { Logger } from 'pino';
import { sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import type { MeshModel } from '../model/types.js';
import { parseProxyClass } from '../translate/proxy.js';
import { namespaceRoutes, sharedSidecarResources, translate } from '../translate/translate.js';
import type { SnapshotCache } from '../xds/cache.js';

/** The key the lists every sidecar shares are held under in the cache, ahead of the classes given them. */
const SHARED_SIDECAR = 'sidecar (shared)';
/** Followed by a namespace: the routes of that namespace's unscoped sidecars. */
const NAMESPACE_ROUTES = 'sidecar routes of namespace ';

/** What one setModel cost: the classes translated, the time in translation and in the cache (hashing, encoding what is new), the resources encoded. */
export interface BuildCost {
  readonly classes: number;
  readonly translateMs: number;
  readonly cacheMs: number;
  readonly encoded: number;
}

/** What the last build found wrong, for /debug and status. */
export interface BuildReport {
  readonly translation: readonly Diagnostic[];
  readonly resources: readonly Diagnostic[];
}

/** How a build in turns ended: every class built, at that cost; or a class's build threw (the classes before it serve the new model). */
export type TurnsOutcome = { readonly cost: BuildCost } | { readonly error: unknown };

/** A build in turns under way: the classes still to build, and what the build cost so far. */
interface Turns {
  readonly classes: readonly string[];
  next: number;
  readonly cost: { classes: number; translateMs: number; cacheMs: number; encoded: number };
  readonly perTurn: number;
  readonly done: (outcome: TurnsOutcome) => void;
  immediate: NodeJS.Immediate;
}

export class SnapshotBuilder {
  private model: MeshModel | undefined;
  private readonly translationErrors = new Map<string, readonly Diagnostic[]>();
  private readonly resourceErrors = new Map<string, readonly Diagnostic[]>();
  private turns: Turns | undefined;

  constructor(
    private readonly cache: SnapshotCache,
    private readonly classesInUse: () => readonly string[],
    private readonly logger: Logger,
  ) {}

  /** A new model: rebuild every class in use (and those already cached), then serve. Builds every class on `model`; when that throws, later demands still build on the model before it. */
  setModel(model: MeshModel): void {
    const previous = this.model;
    this.stopTurns();
    this.model = model;
    try {
      const { classes, cost } = this.begin(model);
      for (const cls of classes) this.build(cls, cost);
      this.lastBuild = { ...cost, encoded: this.cache.encodes - cost.encoded };
    } catch (err) {
      this.model = previous;
      throw err;
    }
    this.cache.markReady();
  }

  /**
   * A new model, its classes built `perTurn` at a time, one turn of the event loop each: the
   * responses of the first classes leave (and their proxies start on them, and ACK) while the rest
   * are built, instead of all after the last. What every sidecar shares is prepared now (what throws
   * there throws here, the model before kept); `done` is called once the last class is built, or
   * when one throws. A new model before then takes over: the build under way stops without `done`.
   * For a cache that serves already: the first build is whole (setModel).
   */
  setModelInTurns(model: MeshModel, perTurn: number, done: (outcome: TurnsOutcome) => void): void {
    const previous = this.model;
    this.stopTurns();
    this.model = model;
    try {
      const { classes, cost } = this.begin(model);
      this.turns = { classes, next: 0, cost, perTurn: Math.max(1, perTurn), done, immediate: setImmediate(() => this.turn()) };
    } catch (err) {
      this.model = previous;
      throw err;
    }
  }

  /** True while a build in turns is under way. */
  get building(): boolean {
    return this.turns !== undefined;
  }

  /** Whether a build in turns under way has still to build `proxyClass` (its proxies hold the model before). */
  pending(proxyClass: string): boolean {
    const t = this.turns;
    if (!t) return false;
    // The classes are sorted: a binary search among those not built yet.
    let [lo, hi] = [t.next, t.classes.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = t.classes[mid] as string;
      if (c === proxyClass) return true;
      if (c < proxyClass) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** The classes to build on a new model, sorted, and what every sidecar shares prepared. */
  private begin(model: MeshModel): { classes: string[]; cost: Turns['cost'] } {
    const classes = [...new Set([...this.classesInUse(), ...this.cache.classes()])].sort();
    const cost = { classes: classes.length, translateMs: 0, cacheMs: 0, encoded: this.cache.encodes };
    this.prepare(model, cost);
    return { classes, cost };
  }

  /** One turn of a build in turns: the next classes (those released since it began skipped), then the next turn or the end. */
  private turn(): void {
    const t = this.turns;
    if (!t) return;
    const end = Math.min(t.classes.length, t.next + t.perTurn);
    let inUse: ReadonlySet<string> | undefined;
    try {
      for (; t.next < end; t.next++) {
        const cls = t.classes[t.next] as string;
        // A class released since the build began has no snapshot to renew (and one made now would outlive it).
        if (this.cache.get(cls) === undefined && !(inUse ??= new Set(this.classesInUse())).has(cls)) continue;
        this.build(cls, t.cost);
      }
    } catch (error) {
      this.turns = undefined;
      t.done({ error });
      return;
    }
    if (t.next < t.classes.length) {
      t.immediate = setImmediate(() => this.turn());
      return;
    }
    this.turns = undefined;
    this.lastBuild = { ...t.cost, encoded: this.cache.encodes - t.cost.encoded };
    t.done({ cost: this.lastBuild });
  }

  /** Stops a build in turns under way (at shutdown). */
  close(): void {
    this.stopTurns();
  }

  private stopTurns(): void {
    if (this.turns) clearImmediate(this.turns.immediate);
    this.turns = undefined;
  }

  /** A proxy of a class with no snapshot connected. */
  demand(proxyClass: string): void {
    if (this.model) this.build(proxyClass);
  }

  /** A proxy class no proxy uses any more: its snapshot and its errors go. */
  release(proxyClass: string): void {
    this.cache.delete(proxyClass);
    this.translationErrors.delete(proxyClass);
    this.resourceErrors.delete(proxyClass);
  }

  /** Proxy classes whose errors are held (for tests and metrics). */
  get classesTracked(): number {
    return Math.max(this.translationErrors.size, this.resourceErrors.size);
  }

  /** What the last setModel cost: the work a change costs. */
  lastBuild: BuildCost = { classes: 0, translateMs: 0, cacheMs: 0, encoded: 0 };

  report(): BuildReport {
    return {
      translation: sortDiagnostics([...this.translationErrors.values()].flat()),
      resources: sortDiagnostics([...this.resourceErrors.values()].flat()),
    };
  }

  /**
   * Encodes what every sidecar shares before any asks (SnapshotCache.prepare), and the routes of
   * each namespace with an unscoped sidecar's pod: the first sidecar of a pod then costs only what is
   * its own. What fails to encode is reported by the classes given it.
   */
  private prepare(model: MeshModel, cost: { translateMs: number; cacheMs: number }): void {
    const t0 = performance.now();
    const shared = sharedSidecarResources(model);
    const routes = namespaceRoutes(model);
    const t1 = performance.now();
    this.cache.prepare(SHARED_SIDECAR, shared);
    const keys = new Set([SHARED_SIDECAR]);
    for (const [namespace, route] of routes) {
      const key = `${NAMESPACE_ROUTES}${namespace}`;
      keys.add(key);
      this.cache.prepare(key, { route });
    }
    for (const key of this.cache.preparedKeys()) if (!keys.has(key)) this.cache.unprepare(key);
    cost.translateMs += t1 - t0;
    cost.cacheMs += performance.now() - t1;
  }

  private build(proxyClass: string, cost?: { translateMs: number; cacheMs: number }): void {
    const model = this.model;
    if (!model) return;
    const proxy = parseProxyClass(proxyClass);
    if (!proxy) {
      this.logger.warn({ class: proxyClass }, 'not a proxy class Trellis knows; nothing to serve it');
      return;
    }
    const t0 = performance.now();
    const { resources, diagnostics: errors } = translate(model, proxy);
    const t1 = performance.now();
    this.translationErrors.set(proxyClass, errors);
    this.resourceErrors.set(proxyClass, this.cache.set(proxyClass, resources));
    if (cost) {
      cost.translateMs += t1 - t0;
      cost.cacheMs += performance.now() - t1;
    }
  }
}
