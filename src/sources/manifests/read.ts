/**
 * Reading a manifests directory: every `.yaml`, `.yml` and `.json` file under it, recursively,
 * skipping hidden files and directories. Symbolic links are followed (a ConfigMap volume is a set
 * of links into a hidden `..data` directory); a directory reached twice is read once. An entry that
 * cannot be read (a symbolic link loop, no permission) is listed with its problem, and the rest of
 * the tree is read as usual. And reading
 * what a command line names: files, directories and `-` (stdin), several at once.
 */
import type { Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ManifestFile } from './parse.js';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** What says a file changed: its size, its mtime and its identity (device:inode; a new one when it is replaced by rename). */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly id: string;
}

/** The largest manifest file read, unless told otherwise: 16 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** `16 MiB`, `4 KiB`, `300 bytes`. */
function mebibytes(bytes: number): string {
  const [unit, size] = bytes >= 1024 * 1024 ? ['MiB', 1024 * 1024] : bytes >= 1024 ? ['KiB', 1024] : ['bytes', 1];
  return `${(bytes / size).toFixed(1).replace(/\.0$/, '')} ${unit}`;
}

/**
 * A manifest file's text: a file over `maxBytes` is not read at all (reading and parsing it would
 * stall everything else), and bytes that are not UTF-8 are a problem, not U+FFFD.
 */
export async function readManifestText(path: string, maxBytes: number, stamp?: (s: FileStamp) => void): Promise<string | { readonly problem: string }> {
  const handle = await open(path, 'r');
  try {
    const { size, mtimeMs, ino, dev } = await handle.stat();
    stamp?.({ size, mtimeMs, id: `${dev}:${ino}` });
    if (size > maxBytes) return { problem: `${mebibytes(size)}, over the limit of ${mebibytes(maxBytes)}; not read` };
    const bytes = await handle.readFile();
    if (bytes.length > maxBytes) return { problem: `over the limit of ${mebibytes(maxBytes)}; not read` };
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return { problem: `not valid UTF-8 (at byte ${firstInvalidByte(bytes)}); not read` };
    }
  } finally {
    await handle.close();
  }
}

/** The offset of the first byte that does not decode: the longest prefix that does, found by halving. */
function firstInvalidByte(bytes: Uint8Array): number {
  const valid = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let [lo, hi] = [0, bytes.length]; // valid(lo) holds, valid(hi) does not
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (valid(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Called with each directory's absolute path and identity (device:inode) before its entries are listed. */
export type OnDirectory = (dir: string, id: string) => void;

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

const REASONS: Readonly<Record<string, string>> = {
  ELOOP: 'a symbolic link loop',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'an I/O error',
  ENAMETOOLONG: 'the name is too long',
};

/** Why an entry cannot be read, in a few words: `cannot read: a symbolic link loop (ELOOP)`. */
export function unreadableReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === undefined ? (err instanceof Error ? err.message : String(err)) : `${REASONS[code] ?? 'error'} (${code})`;
  return `cannot read: ${why}`;
}

type EntryKind = 'file' | 'directory' | { readonly problem: string } | undefined;

/** What an entry is once links are followed; undefined when it vanished or is neither; a problem when it cannot be followed. */
async function entryKind(path: string, entry: Dirent): Promise<EntryKind> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (!entry.isSymbolicLink()) return undefined;
  try {
    const target = await stat(path);
    return target.isDirectory() ? 'directory' : target.isFile() ? 'file' : undefined;
  } catch (err) {
    if (isGone(err) && (err as NodeJS.ErrnoException).code !== 'ELOOP') return undefined; // a dangling link is nothing
    return { problem: unreadableReason(err) };
  }
}

/** The file's text, undefined when it vanished, or a problem (the file stays listed, with it, so that its objects keep serving). */
async function readEntry(path: string, maxBytes: number, stamp?: (s: FileStamp) => void): Promise<string | { readonly problem: string } | undefined> {
  try {
    return await readManifestText(path, maxBytes, stamp);
  } catch (err) {
    if (isGone(err)) return undefined;
    return { problem: unreadableReason(err) };
  }
}

interface Walk {
  readonly root: string;
  readonly onDirectory: OnDirectory;
  readonly seen: Set<string>;
  readonly files: ManifestFile[];
  readonly maxBytes: number;
  readonly stamps: Map<string, FileStamp> | undefined;
}

async function walk(w: Walk, rel: string): Promise<void> {
  const dir = rel === '' ? w.root : join(w.root, rel);
  let entries: Dirent[];
  try {
    const id = await stat(dir).then((s) => `${s.dev}:${s.ino}`);
    if (w.seen.has(id)) return;
    w.seen.add(id);
    w.onDirectory(dir, id);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (rel === '') throw err; // the root itself: the caller decides
    if (!isGone(err)) w.files.push({ path: rel, text: '', problem: unreadableReason(err) });
    return; // a subdirectory removed while we read: the next read will not see it
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    const kind = await entryKind(join(dir, entry.name), entry);
    if (kind === 'directory') await walk(w, path);
    else if (typeof kind === 'object') w.files.push({ path, text: '', problem: kind.problem });
    if (kind !== 'file' || !EXTENSIONS.some((ext) => entry.name.endsWith(ext))) continue;
    const read = await readEntry(join(dir, entry.name), w.maxBytes, (s) => w.stamps?.set(path, s));
    if (typeof read === 'string') w.files.push({ path, text: read });
    else if (read !== undefined) w.files.push({ path, text: '', problem: read.problem });
  }
}

/** Reads the directory tree; `onDirectory` lets a watcher watch each directory before it is listed. */
export async function walkManifestDir(
  root: string,
  onDirectory: OnDirectory,
  maxBytes = DEFAULT_MAX_FILE_BYTES,
  stamps?: Map<string, FileStamp>,
): Promise<ManifestFile[]> {
  const w: Walk = { root, onDirectory, seen: new Set(), files: [], maxBytes, stamps };
  await walk(w, '');
  return w.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every manifest file under `dir`, with its path relative to `dir` (`/`-separated), sorted by path. */
export async function readManifestDir(dir: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<ManifestFile[]> {
  return walkManifestDir(dir, () => undefined, maxBytes);
}

/** How standard input is named in messages, for the path `-`. */
export const STDIN_PATH = '<stdin>';

/** A path named on the command line that cannot be read: one line for people. */
export class ManifestPathError extends Error {}

async function statPath(path: string): Promise<'file' | 'directory'> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) return 'directory';
    if (s.isFile()) return 'file';
  } catch (err) {
    if (isGone(err)) throw new ManifestPathError(`${path}: no such file or directory`);
    throw err;
  }
  throw new ManifestPathError(`${path}: neither a file nor a directory`);
}

/**
 * The manifests the paths name, each file named by the path given (a file in a directory by the
 * directory's path, then its own under it: `mesh/shop/web.yaml`): a file is read whatever its
 * extension, a directory as readManifestDir reads it, and `-` is standard input (`readStdin`,
 * read once). A file named twice, directly or through a directory, is read once.
 */
export async function readManifestPaths(paths: readonly string[], readStdin: () => Promise<string>): Promise<ManifestFile[]> {
  const seen = new Set<string>();
  const files: ManifestFile[] = [];
  const add = (file: ManifestFile, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  for (const path of paths) {
    if (path === '-') {
      if (!seen.has(STDIN_PATH)) add({ path: STDIN_PATH, text: await readStdin() }, STDIN_PATH);
    } else if ((await statPath(path)) === 'file') {
      const text = await readManifestText(path, DEFAULT_MAX_FILE_BYTES);
      add(typeof text === 'string' ? { path, text } : { path, text: '', problem: text.problem }, resolve(path));
    } else {
      const dir = path.replace(/(.)\/+$/, '$1');
      for (const f of await readManifestDir(path)) add({ path: `${dir}/${f.path}`, text: f.text }, resolve(path, f.path));
    }
  }
  return files;
}
