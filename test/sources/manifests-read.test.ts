import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readManifestDir, readManifestPaths } from '../../src/sources/manifests/index.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'manifests');

describe('readManifestDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-manifests-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads .yaml, .yml and .json files recursively, skipping hidden ones, sorted by relative path', async () => {
    const files = await readManifestDir(FIXTURES);
    expect(files.map((f) => f.path)).toEqual(['billing.yml', 'namespaces.yaml', 'shop/web-1.json', 'shop/web.yaml']);
    expect(files[0]?.text).toContain('name: ledger');
  });

  it('follows symbolic links, as in a ConfigMap volume, and reads a directory reached twice once', async () => {
    await mkdir(join(dir, '..2024_01_01'), { recursive: true });
    await writeFile(join(dir, '..2024_01_01', 'web.yaml'), 'kind: Service\n');
    await symlink('..2024_01_01', join(dir, '..data'));
    await symlink('..data/web.yaml', join(dir, 'web.yaml'));
    await symlink('..data/gone.yaml', join(dir, 'dangling.yaml'));
    await mkdir(join(dir, 'sub'));
    await symlink('..', join(dir, 'sub', 'loop'));
    expect(await readManifestDir(dir)).toEqual([{ path: 'web.yaml', text: 'kind: Service\n' }]);
  });

  it('rejects when the directory does not exist', async () => {
    await expect(readManifestDir(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('readManifestPaths', () => {
  let dir: string;
  const noStdin = (): Promise<string> => Promise.reject(new Error('stdin read'));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-paths-'));
    await mkdir(join(dir, 'mesh', 'shop'), { recursive: true });
    await writeFile(join(dir, 'mesh', 'shop', 'web.yaml'), 'kind: Service\n');
    await writeFile(join(dir, 'extra.txt'), 'kind: Pod\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads files, directories and stdin, several at once, each file named by the path given', async () => {
    let reads = 0;
    const stdin = (): Promise<string> => Promise.resolve(`kind: Namespace # ${++reads}\n`);
    const files = await readManifestPaths([join(dir, 'extra.txt'), `${join(dir, 'mesh')}/`, '-', '-'], stdin);
    expect(files).toEqual([
      { path: join(dir, 'extra.txt'), text: 'kind: Pod\n' },
      { path: `${join(dir, 'mesh')}/shop/web.yaml`, text: 'kind: Service\n' },
      { path: '<stdin>', text: 'kind: Namespace # 1\n' },
    ]);
  });

  it('reads a file named twice, directly and through its directory, once', async () => {
    const files = await readManifestPaths([join(dir, 'mesh', 'shop', 'web.yaml'), join(dir, 'mesh')], noStdin);
    expect(files.map((f) => f.path)).toEqual([join(dir, 'mesh', 'shop', 'web.yaml')]);
  });

  it('rejects a path that does not exist with one line naming it', async () => {
    const missing = join(dir, 'nope.yaml');
    await expect(readManifestPaths([missing], noStdin)).rejects.toThrow(`${missing}: no such file or directory`);
  });
});
