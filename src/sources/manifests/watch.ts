/**
 * Watching a manifests directory. Every directory of the tree is watched on its own (not with
 * `fs.watch(dir, { recursive: true })`: on Linux, Node 20's recursive watcher keeps watching the
 * old inode of a file replaced by rename and then misses in-place writes to the new one). A
 * watched directory reports creations, writes, removals and renames of its entries by name.
 *
 * On any event the whole tree is read again — a mesh repository is small — and parsed against the
 * previous state. Events are coalesced without timers: the first one schedules a read for the next
 * turn of the event loop, and events that arrive during a read cause exactly one more read.
 * Debouncing proper is the pipeline's job.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { formatManifestError, skippedSummary, type ManifestError } from './errors.js';
import { parseManifests, type ManifestFile, type ManifestResult } from './parse.js';
import { walkManifestDir } from './read.js';

export interface WatchManifestsOptions {
  /** Called with each result that differs from the one before (inputs, errors or warnings). */
  onChange(result: ManifestResult): void;
  logger: Logger;
}

export interface ManifestWatch {
  close(): void;
  /** The result of the first read. */
  readonly result: ManifestResult;
}

/** One non-recursive watcher per directory of the tree, kept in step with what each read visits. */
class DirectoryWatchers {
  private readonly watchers = new Map<string, { id: string; watcher: FSWatcher }>();
  private visited = new Set<string>();

  constructor(
    private readonly onEvent: () => void,
    private readonly logger: Logger,
  ) {}

  /** Called as a read reaches each directory, before listing it, so nothing created after is missed. */
  readonly visit = (dir: string, id: string): void => {
    this.visited.add(dir);
    const known = this.watchers.get(dir);
    if (known?.id === id) return;
    known?.watcher.close(); // the directory was replaced: the old watcher sees the old inode
    try {
      const watcher = watch(dir, () => this.onEvent());
      watcher.on('error', (err) => {
        this.logger.debug({ err, dir }, 'directory watch ended');
        this.onEvent();
      });
      this.watchers.set(dir, { id, watcher });
    } catch (err) {
      this.watchers.delete(dir);
      this.logger.error({ err, dir }, 'cannot watch directory; changes in it will be missed');
    }
  };

  beginRead(): void {
    this.visited = new Set();
  }

  /** Stops watching the directories the last complete read no longer found. */
  endRead(): void {
    for (const [dir, { watcher }] of this.watchers) {
      if (this.visited.has(dir)) continue;
      watcher.close();
      this.watchers.delete(dir);
    }
  }

  close(): void {
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

function logFields(e: ManifestError): Record<string, unknown> {
  return { file: e.file, document: e.document, line: e.line, column: e.column, object: e.object, field: e.field };
}

function logResult(logger: Logger, result: ManifestResult): void {
  for (const e of result.errors) logger.error(logFields(e), formatManifestError(e));
  for (const w of result.warnings) logger.warn(logFields(w), formatManifestError(w));
  const skipped = skippedSummary(result.skipped);
  if (skipped !== undefined) logger.warn({ skipped: result.skipped }, skipped);
}

function sameResult(a: ManifestResult, b: ManifestResult): boolean {
  const key = (r: ManifestResult): string => JSON.stringify([r.inputs, r.errors, r.warnings, r.skipped]);
  return key(a) === key(b);
}

/** The read loop: at most one read at a time, and one more if anything happened during it. */
class ManifestWatcher {
  private dirty = false;
  private running = true; // until the first read is done; events during it cause one more read
  private closed = false;
  private readonly watchers: DirectoryWatchers;
  current: ManifestResult = parseManifests([]);

  constructor(
    private readonly dir: string,
    private readonly opts: WatchManifestsOptions,
  ) {
    this.watchers = new DirectoryWatchers(() => this.schedule(), opts.logger);
  }

  /** The first read; throws (and stops watching) if the directory cannot be read. */
  async start(): Promise<void> {
    try {
      this.current = parseManifests(await this.readFiles());
    } catch (err) {
      this.close();
      throw err;
    }
    logResult(this.opts.logger, this.current);
    this.running = false;
    if (this.dirty) this.schedule();
  }

  close(): void {
    this.closed = true;
    this.watchers.close();
  }

  private schedule(): void {
    this.dirty = true;
    if (this.running || this.closed) return;
    this.running = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      await this.refresh();
    }
    this.running = false;
  }

  private async readFiles(): Promise<ManifestFile[]> {
    this.watchers.beginRead();
    const files = await walkManifestDir(this.dir, this.watchers.visit);
    this.watchers.endRead();
    return files;
  }

  private async refresh(): Promise<void> {
    let next: ManifestResult;
    try {
      next = parseManifests(await this.readFiles(), this.current.state);
    } catch (err) {
      this.opts.logger.error({ err, dir: this.dir }, 'cannot read the manifests directory; keeping the last result');
      return;
    }
    if (this.closed) return;
    const changed = !sameResult(next, this.current);
    this.current = next;
    if (!changed) return;
    logResult(this.opts.logger, next);
    try {
      this.opts.onChange(next);
    } catch (err) {
      this.opts.logger.error({ err }, 'manifests onChange handler failed');
    }
  }
}

/**
 * Reads `dir` now (resolving with the first result; rejecting if the directory cannot be read),
 * then watches it and calls `onChange` with each new result, computed against the previous state.
 */
export async function watchManifests(dir: string, opts: WatchManifestsOptions): Promise<ManifestWatch> {
  const watcher = new ManifestWatcher(dir, opts);
  await watcher.start();
  return { close: () => watcher.close(), result: watcher.current };
}
