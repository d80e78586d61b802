/**
 * Reading one entry of a manifests directory: a file's text (bounded in size, UTF-8 or a problem),
 * what an entry is once symbolic links are followed, and why one cannot be read.
 */
import type { Dirent } from 'node:fs';
import { open, stat } from 'node:fs/promises';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Whether a file of this name is a manifest: `.yaml`, `.yml` or `.json`. */
export function isManifestName(name: string): boolean {
  return EXTENSIONS.some((ext) => name.endsWith(ext));
}

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

export function isGone(err: unknown): boolean {
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

export type EntryKind = 'file' | 'directory' | { readonly problem: string } | undefined;

/** What an entry is once links are followed; undefined when it vanished or is neither; a problem when it cannot be followed. */
export async function entryKind(path: string, entry: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): Promise<EntryKind> {
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
export async function readEntry(path: string, maxBytes: number, stamp?: (s: FileStamp) => void): Promise<string | { readonly problem: string } | undefined> {
  try {
    return await readManifestText(path, maxBytes, stamp);
  } catch (err) {
    if (isGone(err)) return undefined;
    return { problem: unreadableReason(err) };
  }
}
