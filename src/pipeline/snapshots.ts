/**
 * Keeps the cache's snapshots in step with the model: every proxy class in use is translated again
 * when the model changes, and a class seen for the first time is translated on demand. Errors are
 * reported per object, and each bad resource keeps its last good version (the cache does that).
 */
import type { Logger } from 'pino';
import type { MeshModel } from '../model/types.js';
import { parseProxyClass } from '../translate/proxy.js';
import { translate } from '../translate/translate.js';
import type { TranslationError } from '../translate/translation.js';
import type { ResourceError, SnapshotCache } from '../xds/cache.js';

/** What the last build found wrong, for /debug and status. */
export interface BuildReport {
  readonly translation: readonly TranslationError[];
  readonly resources: readonly ResourceError[];
}

export class SnapshotBuilder {
  private model: MeshModel | undefined;
  private readonly translationErrors = new Map<string, readonly TranslationError[]>();
  private readonly resourceErrors = new Map<string, readonly ResourceError[]>();
  /** Translation problems already logged: each is logged once when it appears, not once per class and model. */
  private logged = new Set<string>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly classesInUse: () => readonly string[],
    private readonly logger: Logger,
  ) {}

  /** A new model: rebuild every class in use (and those already cached), then serve. */
  setModel(model: MeshModel): void {
    this.model = model;
    const classes = new Set([...this.classesInUse(), ...this.cache.classes()]);
    for (const cls of [...classes].sort()) this.build(cls);
    this.cache.markReady();
    // What no class has any more is forgotten, so that it is logged again should it come back.
    const current = new Set([...this.translationErrors.values()].flat().map(errorKey));
    this.logged = new Set([...this.logged].filter((k) => current.has(k)));
  }

  /** A proxy of a class with no snapshot connected. */
  demand(proxyClass: string): void {
    if (this.model) this.build(proxyClass);
  }

  report(): BuildReport {
    const translation = new Map<string, TranslationError>();
    for (const list of this.translationErrors.values()) for (const e of list) translation.set(errorKey(e), e);
    return {
      translation: [...translation.values()].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0)),
      resources: [...this.resourceErrors.values()].flat(),
    };
  }

  private build(proxyClass: string): void {
    const model = this.model;
    if (!model) return;
    const proxy = parseProxyClass(proxyClass);
    if (!proxy) {
      this.logger.warn({ class: proxyClass }, 'not a proxy class Trellis knows; nothing to serve it');
      return;
    }
    const { resources, errors } = translate(model, proxy);
    this.translationErrors.set(proxyClass, errors);
    for (const e of errors) {
      const key = errorKey(e);
      if (this.logged.has(key)) continue;
      this.logged.add(key);
      this.logger[e.severity === 'warning' ? 'warn' : 'error']({ class: proxyClass, object: e.object, field: e.field }, e.message);
    }
    const bad = this.cache.set(proxyClass, resources);
    this.resourceErrors.set(proxyClass, bad);
    for (const e of bad) this.logger.error({ class: proxyClass, kind: e.kind, resource: e.name, sources: e.sources }, `${e.message}; the last good version keeps serving`);
  }
}

function errorKey(e: TranslationError): string {
  return `${e.object}|${e.field ?? ''}|${e.message}`;
}
