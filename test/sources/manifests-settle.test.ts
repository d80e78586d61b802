/**
 * A file written in place is taken only once it has been stable for the settle window; a file
 * replaced by rename, or the `..data` symlink swap of a ConfigMap volume, at once. (Short or very
 * long windows here; every wait is on an event.)
 */
import { appendFile, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import type { ManifestResult } from '../../src/sources/manifests/index.ts';
import { service, services, WatchedDir } from './manifests-support.ts';

const held = (l: Record<string, unknown>): boolean => l.msg === 'files being written; waiting for them to settle';

describe('a manifest file being written', { timeout: 20_000 }, () => {
  let d: WatchedDir;
  let seen: string[][];
  beforeEach(async () => {
    d = await WatchedDir.create();
    seen = [];
  });
  afterEach(async () => d.close());

  it('is taken only once whole: the half written first never reaches the result', async () => {
    await writeFile(d.path('mesh.yaml'), service('web', 80));
    const onChange = (r: ManifestResult): void => {
      seen.push(services(r));
      d.changes.push(r);
    };
    await d.start(d.dir, { settleMs: 300, onChange });
    const holding = d.logs.until(held);
    const done = d.servicesBecome(['api:90@mesh.yaml', 'web:81@mesh.yaml']);
    await writeFile(d.path('mesh.yaml'), `${service('api', 90)}---\n`); // the first piece: web is gone from it
    expect((await holding).files).toEqual(['mesh.yaml']);
    await appendFile(d.path('mesh.yaml'), service('web', 81));
    await done;
    expect(seen).toEqual([['api:90@mesh.yaml', 'web:81@mesh.yaml']]);
  });

  it('replaced by rename is taken at once, however long the window', async () => {
    await writeFile(d.path('web.yaml'), service('web', 80));
    await d.start(d.dir, { settleMs: 600_000 });
    const next = d.servicesBecome(['web:81@web.yaml']);
    await writeFile(d.path('.web.yaml.tmp'), service('web', 81));
    await rename(d.path('.web.yaml.tmp'), d.path('web.yaml'));
    await next;
  });

  it('behind the ..data symlink of a ConfigMap volume, swapped, is taken at once', async () => {
    await mkdir(d.path('..2026_a'));
    await writeFile(d.path('..2026_a', 'web.yaml'), service('web', 80));
    await symlink('..2026_a', d.path('..data'));
    await symlink('..data/web.yaml', d.path('web.yaml'));
    const w = await d.start(d.dir, { settleMs: 600_000 });
    expect(services(w.result)).toEqual(['web:80@web.yaml']);
    const next = d.servicesBecome(['web:81@web.yaml']);
    await mkdir(d.path('..2026_b'));
    await writeFile(d.path('..2026_b', 'web.yaml'), service('web', 81));
    await symlink('..2026_b', d.path('..data_tmp'));
    await rename(d.path('..data_tmp'), d.path('..data'));
    await next;
  });

  it('the window is a serve flag, 500 ms by default', () => {
    expect(loadServeConfig({ manifests: 'm' }, {}).manifestSettleMs).toBe(500);
    expect(loadServeConfig({ manifests: 'm', 'manifest-settle': '20' }, {}).manifestSettleMs).toBe(20);
  });
});
