/**
 * Watching a manifests directory. Every directory of the tree is watched on its own (not with
 * `fs.watch(dir, { recursive: true })`: on Linux, Node 20's recursive watcher keeps watching the
 * old inode of a file replaced by rename and then misses in-place writes to the new one). A
 * watched directory reports creations, writes, removals and renames of its entries by name.
 *
 * A read looks again only at the entries named since the last one (tree.ts), and the parse reuses
 * what it found in every file whose text is unchanged; the whole tree is walked at the start, when
 * the root itself may have been replaced, and after it could not be read. Events are coalesced
 * without timers: the first one schedules a read for the next turn of the event loop, and events
 * that arrive during a read cause exactly one more read.
 * Debouncing proper is the pipeline's job, and so is logging the errors and warnings a read finds
 * (each once, when it appears).
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { parseManifests, type ManifestFile, type ManifestResult } from './parse.js';
import { unreadableReason, type FileStamp } from './files.js';
import { losesMost, meshSize, RemovalGuard, Settler } from './settle.js';
import { ManifestTree, type Changes } from './tree.js';

/** Whether the directory is there to be read; while it is not, the last good result is what is served. */
export interface WatchStatus {
  readonly connected: boolean;
  /** Why not: `manifests directory /srv/mesh is missing`. */
  readonly reason?: string;
}

export interface WatchManifestsOptions {
  /**
   * Called with each result that differs from the one before (inputs, errors or warnings), and the
   * files it was read from; and with the last result when the status changes.
   */
  onChange(result: ManifestResult, files: readonly ManifestFile[], status: WatchStatus): void;
  logger: Logger;
  /** A file written in place is taken once its size and mtime stayed the same this long (ms); one replaced by rename at once [0]. */
  settleMs?: number;
  /** Files larger than this are an error, not read [DEFAULT_MAX_FILE_BYTES]. */
  maxFileBytes?: number;
  /** While the directory is missing, how often to look for it besides watching its parent (ms) [1000]. */
  retryMs?: number;
}

export interface ManifestWatch {
  close(): void;
  /** The result of the first read, and its files. */
  readonly result: ManifestResult;
  readonly files: readonly ManifestFile[];
}

const CONNECTED: WatchStatus = { connected: true };

/** One non-recursive watcher per directory of the tree, kept in step with what each read visits. */
class DirectoryWatchers {
  private readonly watchers = new Map<string, { id: string; watcher: FSWatcher }>();

  constructor(
    /** An entry of `dir` changed (`name`; null when the watcher does not say which), or its watch ended (undefined). */
    private readonly onEvent: (dir: string, name: string | null | undefined) => void,
    private readonly logger: Logger,
  ) {}

  /**
   * An entry of `dir` was created, removed or renamed: if it is a directory we watch, its watcher
   * may be watching an inode that is gone (a new directory can even reuse the number), so the next
   * read watches it afresh.
   */
  readonly renamed = (dir: string, name: string | null): void => {
    const path = name === null ? undefined : join(dir, name);
    const known = path === undefined ? undefined : this.watchers.get(path);
    if (path === undefined || known === undefined) return;
    known.watcher.close();
    this.watchers.delete(path);
  };

  /** Called as a read reaches each directory, before listing it, so nothing created after is missed. */
  readonly visit = (dir: string, id: string): void => {
    const known = this.watchers.get(dir);
    if (known?.id === id) return;
    known?.watcher.close(); // the directory was replaced: the old watcher sees the old inode
    try {
      const watcher = watch(dir, (event, name) => {
        if (event === 'rename') this.renamed(dir, name);
        this.onEvent(dir, name);
      });
      watcher.on('error', (err) => {
        this.logger.debug({ err, dir }, 'directory watch ended');
        this.onEvent(dir, undefined);
      });
      this.watchers.set(dir, { id, watcher });
    } catch (err) {
      this.watchers.delete(dir);
      this.logger.error({ err, dir }, 'cannot watch directory; changes in it will be missed');
    }
  };

  /** Stops watching the directories that are no longer in the tree (absolute path and identity of those that are). */
  retain(dirs: readonly [string, string][]): void {
    const kept = new Set(dirs.map(([dir]) => dir));
    for (const [dir, { watcher }] of this.watchers) {
      if (kept.has(dir)) continue;
      watcher.close();
      this.watchers.delete(dir);
    }
  }

  close(): void {
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/**
 * Whether two results say the same. parse.ts checks an object once and serves the same Input for as
 * long as its text stays the same, so unchanged inputs compare by identity; a list with a new
 * element compares it by content (a file rewritten with the same objects is no change).
 */
function sameResult(a: ManifestResult, b: ManifestResult): boolean {
  const lists = Object.keys(a.inputs) as (keyof ManifestResult['inputs'])[];
  const sameList = (x: readonly unknown[], y: readonly unknown[]): boolean =>
    x.length === y.length && x.every((v, i) => v === y[i] || JSON.stringify(v) === JSON.stringify(y[i]));
  return (
    lists.every((k) => sameList(a.inputs[k], b.inputs[k])) &&
    JSON.stringify([a.errors, a.warnings, a.skipped]) === JSON.stringify([b.errors, b.warnings, b.skipped])
  );
}

/** The read loop: at most one read at a time, and one more if anything happened during it. */
class ManifestWatcher {
  private dirty = false;
  private running = true; // until the first read is done; events during it cause one more read
  private closed = false;
  private readonly watchers: DirectoryWatchers;
  /** Watches the directory holding the root, for the root removed, recreated or replaced. */
  private parent: FSWatcher | undefined;
  /** While the root cannot be read: looks again now and then, in case the parent's watch misses it. */
  private retry: NodeJS.Timeout | undefined;
  status: WatchStatus = CONNECTED;
  private readonly settler: Settler;
  private readonly guard: RemovalGuard;
  /** A look again once a file being written has settled. */
  private settleTimer: NodeJS.Timeout | undefined;
  /** The root's identity (device:inode) at the last read. */
  private rootId: string | undefined;
  current: ManifestResult = parseManifests([]);
  /** The files `current` was read from (problems found later are placed at a line in them). */
  files: readonly ManifestFile[] = [];
  private readonly tree: ManifestTree;
  /** The entries named by the watchers since the last read. */
  private changes: Changes = new Map();
  /** The next read walks the whole tree (the root may have been replaced, or a watch ended). */
  private walkAll = false;

  constructor(
    private readonly dir: string,
    private readonly opts: WatchManifestsOptions,
  ) {
    this.watchers = new DirectoryWatchers((dir, name) => this.changed(dir, name), opts.logger);
    this.tree = new ManifestTree(dir, opts.maxFileBytes);
    this.settler = new Settler(opts.settleMs ?? 0);
    this.guard = new RemovalGuard(opts.settleMs ?? 0);
  }

  /** The first read; throws (and stops watching) if the directory cannot be read. */
  async start(): Promise<void> {
    try {
      this.watchParent();
      const { files, stamps } = await this.readFiles();
      this.files = this.settler.first(files, stamps, Date.now());
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
    this.parent?.close();
    clearInterval(this.retry);
    clearTimeout(this.settleTimer);
  }

  private readonly visit = (dir: string, id: string): void => {
    if (dir === this.dir) {
      if (this.rootId !== undefined && id !== this.rootId && this.status.connected) {
        this.opts.logger.info({ dir }, 'manifests directory replaced; watching the new one');
      }
      this.rootId = id;
    }
    this.watchers.visit(dir, id);
  };

  private watchParent(): void {
    const name = basename(this.dir);
    try {
      this.parent = watch(dirname(this.dir), (event, changed) => {
        if (changed !== name) return;
        if (event === 'rename') this.watchers.renamed(dirname(this.dir), changed);
        this.walkAll = true;
        this.schedule();
      });
      this.parent.on('error', (err) => this.opts.logger.debug({ err, dir: dirname(this.dir) }, 'watch of the parent directory ended'));
    } catch (err) {
      this.opts.logger.warn({ err, dir: dirname(this.dir) }, 'cannot watch the parent of the manifests directory; a replaced directory is noticed by polling');
    }
  }

  /** The root cannot be read: serve the last good result, say why, and look for it again. */
  private lost(err: unknown): void {
    const gone = ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
    const reason = gone ? `manifests directory ${this.dir} is missing` : `manifests directory ${this.dir}: ${unreadableReason(err)}`;
    if (this.status.reason === reason) return;
    const first = this.status.connected;
    this.status = { connected: false, reason };
    this.watchers.close(); // what they watched is gone; the next good read watches the tree afresh
    if (first) this.retry = setInterval(() => this.schedule(), this.opts.retryMs ?? 1000).unref();
    this.notify();
    this.opts.logger.warn({ dir: this.dir, reason }, 'cannot read the manifests directory; serving the last good state until it is back');
  }

  /** The root read again after it was missing. */
  private found(): boolean {
    if (this.status.connected) return false;
    clearInterval(this.retry);
    this.retry = undefined;
    this.status = CONNECTED;
    return true;
  }

  private notify(): void {
    try {
      this.opts.onChange(this.current, this.files, this.status);
    } catch (err) {
      this.opts.logger.error({ err }, 'manifests onChange handler failed');
    }
  }

  /** A watcher saw `name` in `dir` change. */
  private changed(dir: string, name: string | null | undefined): void {
    if (name === undefined) this.walkAll = true;
    else if (name === null) this.changes.set(dir, 'all');
    else {
      const names = this.changes.get(dir) ?? new Set<string>();
      if (names !== 'all') this.changes.set(dir, names.add(name));
    }
    this.schedule();
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

  /**
   * Reads what changed since the last read: the entries named by the watchers, or the whole tree.
   * Throws when the root cannot be read.
   */
  private async readFiles(): Promise<{ files: ManifestFile[]; stamps: Map<string, FileStamp> }> {
    const changes = this.changes;
    this.changes = new Map();
    const all = this.walkAll || !this.status.connected || this.rootId === undefined;
    this.walkAll = false;
    let read: string[];
    try {
      read = await (all ? this.tree.readAll(this.visit) : this.tree.update(changes, this.visit));
    } catch (err) {
      if (all) throw err;
      read = await this.tree.readAll(this.visit); // an entry named could not be listed: look at everything
    }
    this.opts.logger.debug({ walked: all, read: read.length, files: read.slice(0, 10) }, 'manifests read');
    this.watchers.retain(this.tree.directories());
    return { files: this.tree.list(), stamps: this.tree.stamps() };
  }

  /** A file is still being written: read again once it may have settled. */
  private lookAgain(inMs: number | undefined): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = inMs === undefined || this.closed ? undefined : setTimeout(() => this.schedule(), inMs + 5).unref();
  }

  private async refresh(): Promise<void> {
    let next: ManifestResult;
    let files: ManifestFile[];
    let retryInMs: number | undefined;
    try {
      const read = await this.readFiles();
      const settled = this.settler.settle(read.files, read.stamps, this.files, Date.now());
      files = settled.files;
      retryInMs = settled.retryInMs;
      if (settled.held.length > 0) this.opts.logger.debug({ files: settled.held }, 'files being written; waiting for them to settle');
      next = parseManifests(files, this.current.state);
    } catch (err) {
      if (!this.closed) this.lost(err);
      return;
    }
    if (this.closed) return;
    const wasHolding = this.guard.holding;
    const size = { before: meshSize(this.current.inputs), after: meshSize(next.inputs) };
    const hold = this.guard.holdFor(size.before, size.after, Date.now());
    this.lookAgain(hold === undefined ? retryInMs : Math.min(hold, retryInMs ?? hold));
    if (hold !== undefined) {
      if (!wasHolding)
        this.opts.logger.warn(size, 'a change would remove more than half of the Services or endpoints; holding it back for one more settle window');
      return;
    }
    if (wasHolding && losesMost(size.before, size.after))
      this.opts.logger.warn(size, 'the change still removes more than half of the Services or endpoints; taking it');
    const changed = !sameResult(next, this.current);
    this.current = next;
    this.files = files;
    const back = this.found();
    if (back || changed) this.notify();
    if (back) this.opts.logger.info({ dir: this.dir }, 'manifests directory is back; watching it again');
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
