import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readManifestDir } from '../../src/sources/manifests/index.ts';
import { problems, service, services, WatchedDir } from './manifests-support.ts';

const LOOP = 'cannot read: a symbolic link loop (ELOOP)';

describe('an entry that cannot be read', { timeout: 10_000 }, () => {
  let d: WatchedDir;
  beforeEach(async () => {
    d = await WatchedDir.create();
    await writeFile(d.path('web.yaml'), service('web', 80));
  });
  afterEach(async () => d.close());

  it('a symbolic link loop present at start is an error on its path; the rest is served, and later edits too', async () => {
    await symlink('loop.yaml', d.path('loop.yaml'));
    await symlink('dirloop', d.path('dirloop'));
    const w = await d.start();
    expect(services(w.result)).toEqual(['web:80@web.yaml']);
    expect(problems(w.result)).toEqual([`error dirloop: ${LOOP}`, `error loop.yaml: ${LOOP}`]);
    const next = d.servicesBecome(['web:81@web.yaml']);
    await writeFile(d.path('web.yaml'), service('web', 81));
    expect(problems(await next)).toEqual([`error dirloop: ${LOOP}`, `error loop.yaml: ${LOOP}`]);
    expect(d.logged.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });

  it('a file that turns into a loop keeps serving its objects, with the error; fixed, it is read again', async () => {
    await writeFile(d.path('api.yaml'), service('api', 90));
    await d.start();
    const broken = d.changes.until((r) => r.errors.length > 0);
    // Swapped in at once by rename: removed first, the file would be gone for a moment (and its objects with it).
    await symlink('api.yaml', d.path('.api.yaml.tmp'));
    await rename(d.path('.api.yaml.tmp'), d.path('api.yaml'));
    const r = await broken;
    expect(services(r)).toEqual(['api:90@api.yaml', 'web:80@web.yaml']);
    expect(problems(r)).toEqual([`error api.yaml: ${LOOP}`, 'warning api.yaml: kept serving the last good version (from api.yaml#1)']);
    const fixed = d.servicesBecome(['api:91@api.yaml', 'web:80@web.yaml']);
    await rm(d.path('api.yaml'));
    await writeFile(d.path('api.yaml'), service('api', 91));
    expect(problems(await fixed)).toEqual([]);
  });

  // Root reads any directory whatever its mode (CI runs as root), so the directory becomes unreadable
  // by turning into a symbolic link loop (swapped in at once by rename) rather than by chmod.
  it('a directory that becomes unreadable keeps serving what was under it; readable again, it is read again', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'trellis-outside-'));
    try {
      await mkdir(join(outside, 'real'));
      await writeFile(join(outside, 'real', 'api.yaml'), service('api', 90));
      await symlink(join(outside, 'real'), d.path('sub'));
      const w = await d.start();
      expect(services(w.result)).toEqual(['api:90@sub/api.yaml', 'web:80@web.yaml']);
      const broken = d.changes.until((r) => r.errors.length > 0);
      await symlink(d.path('sub'), join(outside, 'loop'));
      await rename(join(outside, 'loop'), d.path('sub'));
      const r = await broken;
      expect(services(r)).toEqual(['api:90@sub/api.yaml', 'web:80@web.yaml']);
      expect(problems(r)[0]).toBe(`error sub: ${LOOP}`);

      const fixed = d.servicesBecome(['api:91@sub/api.yaml', 'web:80@web.yaml']);
      await writeFile(join(outside, 'real', 'api.yaml'), service('api', 91));
      await symlink(join(outside, 'real'), join(outside, 'link'));
      await rename(join(outside, 'link'), d.path('sub'));
      expect(problems(await fixed)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('is an error from readManifestDir too (trellis validate), not a throw', async () => {
    await symlink('loop.yaml', d.path('loop.yaml'));
    expect(await readManifestDir(d.dir)).toEqual([
      { path: 'loop.yaml', text: '', problem: LOOP },
      { path: 'web.yaml', text: service('web', 80) },
    ]);
  });
});
