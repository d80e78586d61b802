/**
 * The manifests directory as last read: each file's text and stamp, each directory's identity.
 *
 * `readAll` walks the whole tree (the first read, and whenever the root itself may have changed);
 * `update` looks only at the entries the directory watchers named since the last read — a file
 * written, created, removed or replaced by rename; a directory created, removed or renamed, walked
 * anew. A file whose stamp (size, mtime, identity) is unchanged keeps the text read before, and
 * parse.ts keeps what it found in a text it has seen, so a change to one file of a thousand costs
 * one file. Two cases widen the look: an event without a name looks at every entry of its directory,
 * and a hidden entry changing (a ConfigMap volume's `..data` link swapped to a new hidden directory)
 * looks again at every entry of that directory reached through a symbolic link.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareText } from '../../diagnostics.js';
import type { ManifestFile } from './parse.js';
import { DEFAULT_MAX_FILE_BYTES, entryKind, isGone, isManifestName, readEntry, unreadableReason, type FileStamp } from './files.js';

/** Called with each directory's absolute path and identity (device:inode) before its entries are listed. */
export type OnDirectory = (dir: string, id: string) => void;

/** What the watchers saw since the last read: per directory (absolute path), the names of the entries that changed, or all of them. */
export type Changes = Map<string, Set<string> | 'all'>;

interface TreeFile {
  readonly file: ManifestFile;
  readonly stamp?: FileStamp;
  /** Reached through a symbolic link (its target may change without an event for its own name). */
  readonly linked: boolean;
}

interface TreeDir {
  readonly abs: string;
  readonly id: string;
  readonly linked: boolean;
}

/** One read in progress: the maps it fills, and what it may reuse. */
interface Walk {
  readonly files: Map<string, TreeFile>;
  readonly dirs: Map<string, TreeDir>;
  /** Directory identities already in the tree: a directory reached twice is read once. */
  readonly seen: Set<string>;
  /** The files of the last read: one whose stamp is the same is not read again. */
  readonly previous: ReadonlyMap<string, TreeFile>;
  readonly onDirectory: OnDirectory;
  /** The files whose text this read took from the disk (the others were unchanged). */
  readonly read: string[];
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function sameStamp(a: FileStamp | undefined, b: FileStamp): boolean {
  return a !== undefined && a.id === b.id && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function byPath(a: ManifestFile, b: ManifestFile): number {
  return compareText(a.path, b.path);
}

export class ManifestTree {
  private files = new Map<string, TreeFile>();
  private dirs = new Map<string, TreeDir>();

  constructor(
    private readonly root: string,
    private readonly maxBytes = DEFAULT_MAX_FILE_BYTES,
  ) {}

  /** Every file (and unreadable entry), sorted by path. */
  list(): ManifestFile[] {
    return [...this.files.values()].map((f) => f.file).sort(byPath);
  }

  /** The stamp of each file read. */
  stamps(): Map<string, FileStamp> {
    const out = new Map<string, FileStamp>();
    for (const [path, { stamp }] of this.files) if (stamp !== undefined) out.set(path, stamp);
    return out;
  }

  /** Every directory of the tree: absolute path and identity. */
  directories(): [string, string][] {
    return [...this.dirs.values()].map((d) => [d.abs, d.id]);
  }

  /**
   * Reads the whole tree; throws if the root cannot be read (and the tree stays as it was). Returns
   * the paths of the files read from the disk: new, or with a new stamp.
   */
  async readAll(onDirectory: OnDirectory): Promise<string[]> {
    const w: Walk = { files: new Map(), dirs: new Map(), seen: new Set(), previous: this.files, onDirectory, read: [] };
    await this.walkDir(w, '', false);
    return this.commit(w);
  }

  /** Looks again at the entries `changes` names; the rest of the tree stays as read. Returns the paths of the files read from the disk. */
  async update(changes: Changes, onDirectory: OnDirectory): Promise<string[]> {
    const w: Walk = {
      files: new Map(this.files),
      dirs: new Map(this.dirs),
      seen: new Set([...this.dirs.values()].map((d) => d.id)),
      previous: this.files,
      onDirectory,
      read: [],
    };
    const relOf = new Map([...this.dirs].map(([rel, d]) => [d.abs, rel]));
    for (const [abs, names] of changes) {
      const dir = relOf.get(abs);
      if (dir === undefined || !w.dirs.has(dir)) continue; // gone since: its parent's watcher names it
      for (const name of await this.targets(w, dir, abs, names)) {
        const path = dir === '' ? name : `${dir}/${name}`;
        this.forget(w, path);
        await this.visitEntry(w, path);
      }
    }
    return this.commit(w);
  }

  private commit(w: Walk): string[] {
    this.files = w.files;
    this.dirs = w.dirs;
    return w.read.sort();
  }

  /** The names of `dir`'s entries to look at again. */
  private async targets(w: Walk, dir: string, abs: string, names: Set<string> | 'all'): Promise<Set<string>> {
    const children = (linkedOnly: boolean): string[] =>
      [...w.files, ...w.dirs].filter(([path, e]) => path !== '' && parentOf(path) === dir && (!linkedOnly || e.linked)).map(([path]) => nameOf(path));
    if (names === 'all') {
      const listed = await readdir(abs).catch((err: unknown) => {
        if (isGone(err)) return [];
        throw err;
      });
      return new Set([...listed.filter((n) => !n.startsWith('.')), ...children(false)]);
    }
    const visible = [...names].filter((n) => !n.startsWith('.'));
    return new Set(visible.length < names.size ? [...visible, ...children(true)] : visible);
  }

  /** Drops `path` and everything under it from the walk's maps. */
  private forget(w: Walk, path: string): void {
    w.files.delete(path);
    // Only a directory walked has entries under it: a file costs no scan of the tree.
    if (!w.dirs.has(path)) return;
    const under = `${path}/`;
    for (const p of [...w.files.keys()]) if (p === path || p.startsWith(under)) w.files.delete(p);
    for (const [p, d] of [...w.dirs]) {
      if (p !== path && !p.startsWith(under)) continue;
      w.dirs.delete(p);
      w.seen.delete(d.id);
    }
  }

  private async walkDir(w: Walk, rel: string, linked: boolean): Promise<void> {
    const abs = rel === '' ? this.root : join(this.root, rel);
    let names: string[];
    try {
      const id = await stat(abs).then((s) => `${s.dev}:${s.ino}`);
      if (w.seen.has(id)) return;
      w.seen.add(id);
      w.onDirectory(abs, id);
      w.dirs.set(rel, { abs, id, linked });
      names = await readdir(abs);
    } catch (err) {
      if (rel === '') throw err; // the root itself: the caller decides
      if (!isGone(err)) w.files.set(rel, { file: { path: rel, text: '', problem: unreadableReason(err) }, linked });
      return; // a subdirectory removed while we read: the next read will not see it
    }
    for (const name of names.sort()) {
      if (!name.startsWith('.')) await this.visitEntry(w, rel === '' ? name : `${rel}/${name}`);
    }
  }

  /** Reads one entry (the path relative to the root) into the walk: a directory's tree, a manifest file, or its problem. */
  private async visitEntry(w: Walk, path: string): Promise<void> {
    const abs = join(this.root, path);
    const link = await lstat(abs).catch((err: unknown) => (isGone(err) ? undefined : { problem: unreadableReason(err) }));
    if (link === undefined) return;
    if ('problem' in link) return void w.files.set(path, { file: { path, text: '', problem: link.problem }, linked: false });
    const linked = link.isSymbolicLink();
    const kind = await entryKind(abs, link);
    if (kind === 'directory') return this.walkDir(w, path, linked);
    if (typeof kind === 'object') return void w.files.set(path, { file: { path, text: '', problem: kind.problem }, linked });
    if (kind === 'file' && isManifestName(path)) await this.readFile(w, path, abs, linked);
  }

  private async readFile(w: Walk, path: string, abs: string, linked: boolean): Promise<void> {
    const last = w.previous.get(path);
    if (last?.stamp !== undefined) {
      const now = await stat(abs).catch(() => undefined);
      if (now !== undefined && sameStamp(last.stamp, { size: now.size, mtimeMs: now.mtimeMs, id: `${now.dev}:${now.ino}` })) {
        return void w.files.set(path, { ...last, linked });
      }
    }
    let stamp: FileStamp | undefined;
    const read = await readEntry(abs, this.maxBytes, (s) => (stamp = s));
    if (read === undefined) return;
    w.read.push(path);
    const file = typeof read === 'string' ? { path, text: read } : { path, text: '', problem: read.problem };
    w.files.set(path, { file, linked, ...(stamp === undefined ? {} : { stamp }) });
  }
}
