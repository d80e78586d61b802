/**
 * A fresh manifests directory for each test of a file (`<tmp>/<prefix>…/mesh`), removed after it,
 * and a way to write a manifest whole: beside the directory, then renamed in, so that no read sees
 * half of it (as editors and `git checkout` write).
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export interface ManifestDir {
  /** The directory Trellis reads; valid inside a test. */
  readonly dir: () => string;
  /** Writes `name` in the directory whole. */
  readonly put: (name: string, text: string) => Promise<void>;
}

/**
 * Registers the hooks; call it before the file's own afterEach (which then runs first, closing
 * what reads the directory before it is removed).
 */
export function manifestDirPerTest(prefix: string): ManifestDir {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
    await mkdir(join(root, 'mesh'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return {
    dir: () => join(root, 'mesh'),
    put: async (name, text) => {
      await writeFile(join(root, name), text);
      await rename(join(root, name), join(root, 'mesh', name));
    },
  };
}
