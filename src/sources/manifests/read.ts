/**
 * Reading a manifests directory: every `.yaml`, `.yml` and `.json` file under it, recursively,
 * skipping hidden files and directories (tree.ts). Symbolic links are followed (a ConfigMap volume is a set
 * of links into a hidden `..data` directory); a directory reached twice is read once. An entry that
 * cannot be read (a symbolic link loop, no permission) is listed with its problem, and the rest of
 * the tree is read as usual. And reading
 * what a command line names: files, directories and `-` (stdin), several at once.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_MAX_FILE_BYTES, isGone, readManifestText } from './files.js';
import type { ManifestFile } from './parse.js';
import { ManifestTree } from './tree.js';

export { DEFAULT_MAX_FILE_BYTES } from './files.js';

/** Every manifest file under `dir`, with its path relative to `dir` (`/`-separated), sorted by path. */
export async function readManifestDir(dir: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<ManifestFile[]> {
  const tree = new ManifestTree(dir, maxBytes);
  await tree.readAll(() => undefined);
  return tree.list();
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
