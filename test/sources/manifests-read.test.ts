import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readManifestDir } from '../../src/sources/manifests/index.ts';

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
