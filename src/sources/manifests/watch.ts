/**
 * Watching a manifests directory. Every directory of the tree is watched on its own (not with
 * `fs.watch(dir, { recursive: true })`: on Linux, Node 20's recursive watcher keeps watching the
 * old inode of a file replaced by rename and then misses in-place writes to the new one). A
 * watched directory reports creations, writes, removals and renames of its entries by name.
 *
 * On any event the whole tree is read again — a mesh repository is small — and parsed against the
 * previous state. Events are coalesced without timers: the first one schedules a read for the next
 * turn of the event loop, and events that arrive during a read cause exactly one more read.
 * Debouncing proper is the pipeline's job, and so is logging the errors and warnings a read finds
 * (each once, when it appears).
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { parseManifests, type ManifestFile, type ManifestResult } from './parse.js';
import { walkManifestDir } from './read.js';

export interface WatchManifestsOptions {
  /** Called with each result that differs from the one before (inputs, errors or warnings), and the files it was read from. */
  onChange(result: ManifestResult, files: readonly ManifestFile[]): void;
  logger: Logger;
}

export interface ManifestWatch {
  close(): void;
  /** The result of the first read, and its files. */
  readonly result: ManifestResult;
  readonly files: readonly ManifestFile[];
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
  /** The files `current` was read from (problems found later are placed at a line in them). */
  files: readonly ManifestFile[] = [];

  constructor(
    private readonly dir: string,
    private readonly opts: WatchManifestsOptions,
  ) {
    this.watchers = new DirectoryWatchers(() => this.schedule(), opts.logger);
  }

  /** The first read; throws (and stops watching) if the directory cannot be read. */
  async start(): Promise<void> {
    try {
      this.files = await this.readFiles();
      this.current = parseManifests(this.files);
    } catch (err) {
      this.close();
      throw err;
    }
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
    let files: ManifestFile[];
    try {
      files = await this.readFiles();
      next = parseManifests(files, this.current.state);
    } catch (err) {
      this.opts.logger.error({ err, dir: this.dir }, 'cannot read the manifests directory; keeping the last result');
      return;
    }
    if (this.closed) return;
    const changed = !sameResult(next, this.current);
    this.current = next;
    this.files = files;
    if (!changed) return;
    try {
      this.opts.onChange(next, files);
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
  return { close: () => watcher.close(), result: watcher.current, files: watcher.files };
}
