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

export class SnapshotBuilder {
  private model: MeshModel | undefined;
  private readonly translationErrors = new Map<string, readonly Diagnostic[]>();
  private readonly resourceErrors = new Map<string, readonly Diagnostic[]>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly classesInUse: () => readonly string[],
    private readonly logger: Logger,
  ) {}

  /** A new model: rebuild every class in use (and those already cached), then serve. Builds every class on `model`; when that throws, later demands still build on the model before it. */
  setModel(model: MeshModel): void {
    const previous = this.model;
    this.model = model;
    try {
      const classes = new Set([...this.classesInUse(), ...this.cache.classes()]);
      const cost = { classes: classes.size, translateMs: 0, cacheMs: 0, encoded: this.cache.encodes };
      this.prepare(model, cost);
      for (const cls of [...classes].sort()) this.build(cls, cost);
      this.lastBuild = { ...cost, encoded: this.cache.encodes - cost.encoded };
    } catch (err) {
      this.model = previous;
      throw err;
    }
    this.cache.markReady();
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
