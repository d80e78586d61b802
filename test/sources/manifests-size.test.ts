/** A file over the size limit, or not UTF-8, is an error naming it, not read (and not turned into U+FFFD). */
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { readManifestDir } from '../../src/sources/manifests/index.ts';
import { problems, service, services, WatchedDir } from './manifests-support.ts';

describe('a manifest file too large or not UTF-8', { timeout: 10_000 }, () => {
  let d: WatchedDir;
  beforeEach(async () => {
    d = await WatchedDir.create();
    await writeFile(d.path('web.yaml'), service('web', 80));
  });
  afterEach(async () => d.close());

  it('over the limit: an error naming it, its objects keep serving, the rest is read; back under, it is read again', async () => {
    await writeFile(d.path('api.yaml'), service('api', 90));
    await d.start(d.dir, { maxFileBytes: 4096 });
    // Written in place: under load the source may first see part of it (already over the limit, so refused
    // at once, with the size it had then); the error follows the file to its full size.
    const big = d.changes.until((r) => r.errors.some((e) => e.message.startsWith('1 MiB')));
    await writeFile(d.path('api.yaml'), `${service('api', 91)}# ${'x'.repeat(1024 * 1024)}\n`);
    const r = await big;
    expect(services(r)).toEqual(['api:90@api.yaml', 'web:80@web.yaml']);
    expect(problems(r)).toEqual([
      'error api.yaml: 1 MiB, over the limit of 4 KiB; not read',
      'warning api.yaml: kept serving the last good version (from api.yaml#1)',
    ]);
    const next = d.servicesBecome(['api:92@api.yaml', 'web:80@web.yaml']);
    await writeFile(d.path('api.yaml'), service('api', 92));
    expect(problems(await next)).toEqual([]);
  });

  it('not UTF-8: an error naming it and the byte, not U+FFFD in a name', async () => {
    const bytes = Buffer.concat([Buffer.from(service('api', 90).replace('api', 'ap')), Buffer.from([0xff])]);
    await writeFile(d.path('api.yaml'), bytes);
    const w = await d.start();
    expect(services(w.result)).toEqual(['web:80@web.yaml']);
    expect(problems(w.result)).toEqual([`error api.yaml: not valid UTF-8 (at byte ${bytes.length - 1}); not read`]);
    expect(await readManifestDir(d.dir)).toContainEqual({ path: 'api.yaml', text: '', problem: `not valid UTF-8 (at byte ${bytes.length - 1}); not read` });
  });

  it('the limit is a serve flag, 16 MiB by default', () => {
    expect(loadServeConfig({ manifests: 'm' }, {}).manifestMaxBytes).toBe(16 * 1024 * 1024);
    expect(loadServeConfig({ manifests: 'm', 'manifest-max-bytes': '1024' }, {}).manifestMaxBytes).toBe(1024);
    expect(loadServeConfig({ manifests: 'm' }, { TRELLIS_MANIFEST_MAX_BYTES: '2048' }).manifestMaxBytes).toBe(2048);
  });
});
