/**
 * The trust bundle: the roots a workload certificate must chain to, and what proxies verify peers
 * against. Configured, never learnt from an issuer: a PEM file (`--trust-bundle`), typically a
 * ConfigMap or Secret volume, re-read when it changes — Kubernetes swaps the `..data` symlink of such
 * a volume, so the directory is watched, not the file. A bundle that does not parse is an error in
 * the log and on `/debug/certz`; the last good one keeps serving.
 */
import { EventEmitter } from 'node:events';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { watchMounted } from '../sources/mounted.js';
import { parseTrustBundle } from './verify.js';

export interface Bundle {
  readonly pem: string;
  readonly roots: readonly X509Certificate[];
}

/** Emits 'changed' (Bundle) when the file holds a new, valid bundle. */
export class TrustBundleFile extends EventEmitter {
  private current: Bundle | undefined;
  private problem: string | undefined;
  private watcher: FSWatcher | undefined;
  private reading: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Reads the file; throws (one line naming the file) when there is no valid bundle to start with. */
  static async open(file: string, logger: Logger): Promise<TrustBundleFile> {
    const b = new TrustBundleFile(file, logger);
    await b.read();
    if (!b.current) throw new Error(`the trust bundle ${file} ${b.problem ?? 'could not be read'}`);
    b.watcher = watchMounted(
      dirname(file),
      [basename(file)],
      () => void b.reload(),
      (err) => logger.error({ file, err: err.message }, 'cannot watch the trust bundle any more: restart Trellis to pick up changes'),
    );
    return b;
  }

  get bundle(): Bundle {
    if (!this.current) throw new Error('no trust bundle');
    return this.current;
  }

  /** What is wrong with the file now, while the last good bundle serves. */
  get error(): string | undefined {
    return this.problem;
  }

  /** Re-reads the file (serialised: one read at a time, the last one wins). */
  reload(): Promise<void> {
    this.reading = this.reading.then(() => this.read());
    return this.reading;
  }

  close(): void {
    this.watcher?.close();
  }

  private async read(): Promise<void> {
    let pem: string;
    let roots: X509Certificate[];
    try {
      pem = await readFile(this.file, 'utf8');
      roots = parseTrustBundle(pem);
    } catch (err) {
      const message = (err as NodeJS.ErrnoException).code ? `cannot be read: ${(err as Error).message}` : (err as Error).message;
      if (this.problem !== message)
        this.logger.error({ file: this.file, problem: message }, `the trust bundle ${this.file} ${message}; the last good bundle keeps serving`);
      this.problem = message;
      return;
    }
    this.problem = undefined;
    if (this.current?.pem === pem) return;
    const first = this.current === undefined;
    this.current = { pem, roots };
    this.logger.info({ file: this.file, roots: roots.map((r) => r.subject) }, first ? 'trust bundle loaded' : 'trust bundle changed');
    if (!first) this.emit('changed', this.current);
  }
}
