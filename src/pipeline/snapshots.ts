/**
 * Keeps the cache's snapshots in step with the model: every proxy class in use is translated again
 * when the model changes, and a class seen for the first time is translated on demand. Errors are
 * reported per object (the control plane logs them, once), and each bad resource keeps its last
 * good version (the cache does that).
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
    this.resourceErrors.set(proxyClass, this.cache.set(proxyClass, resources));
  }
}

function errorKey(e: TranslationError): string {
  return `${e.object}|${e.field ?? ''}|${e.message}`;
}
