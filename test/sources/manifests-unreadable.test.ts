import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
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
    await rm(d.path('api.yaml'));
    await symlink('api.yaml', d.path('api.yaml'));
    const r = await broken;
    expect(services(r)).toEqual(['api:90@api.yaml', 'web:80@web.yaml']);
    expect(problems(r)).toEqual([`error api.yaml: ${LOOP}`, 'warning api.yaml: kept serving the last good version (from api.yaml#1)']);
    const fixed = d.servicesBecome(['api:91@api.yaml', 'web:80@web.yaml']);
    await rm(d.path('api.yaml'));
    await writeFile(d.path('api.yaml'), service('api', 91));
    expect(problems(await fixed)).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a directory without permission keeps serving what was under it', async () => {
    await mkdir(d.path('sub'));
    await writeFile(d.path('sub', 'api.yaml'), service('api', 90));
    await d.start();
    const broken = d.changes.until((r) => r.errors.length > 0);
    await chmod(d.path('sub'), 0);
    const r = await broken;
    await chmod(d.path('sub'), 0o755);
    expect(services(r)).toEqual(['api:90@sub/api.yaml', 'web:80@web.yaml']);
    expect(problems(r)[0]).toBe('error sub: cannot read: permission denied (EACCES)');
  });

  it('is an error from readManifestDir too (trellis validate), not a throw', async () => {
    await symlink('loop.yaml', d.path('loop.yaml'));
    expect(await readManifestDir(d.dir)).toEqual([
      { path: 'loop.yaml', text: '', problem: LOOP },
      { path: 'web.yaml', text: service('web', 80) },
    ]);
  });
});
