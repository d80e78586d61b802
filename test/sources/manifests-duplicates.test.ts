/**
 * The same object in two files: the one already in force keeps serving, and the other is an error
 * naming both files — a new `aaa-dup.yaml` no longer takes a Service over because of path order.
 */
import { rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { problems, service, services, WatchedDir } from './manifests-support.ts';

describe('an object defined in two files', { timeout: 10_000 }, () => {
  let d: WatchedDir;
  beforeEach(async () => {
    d = await WatchedDir.create();
    await writeFile(d.path('web.yaml'), service('web', 80));
  });
  afterEach(async () => d.close());

  it('keeps the one in force when a duplicate appears earlier in path order; the duplicate is an error naming both', async () => {
    await d.start();
    const dup = d.changes.until((r) => r.errors.length > 0);
    await writeFile(d.path('aaa-dup.yaml'), service('web', 9999));
    const r = await dup;
    expect(services(r)).toEqual(['web:80@web.yaml']);
    expect(problems(r)).toEqual(['error aaa-dup.yaml: Service shop/web is already defined in web.yaml#1; this one is ignored']);

    // Edits to the one in force are served; removed, the duplicate takes its place.
    let next = d.servicesBecome(['web:81@web.yaml']);
    await writeFile(d.path('web.yaml'), service('web', 81));
    await next;
    next = d.servicesBecome(['web:9999@aaa-dup.yaml']);
    await rm(d.path('web.yaml'));
    expect(problems(await next)).toEqual([]);
  });

  it('decides by path order when neither was in force (the first read)', () => {
    const r = parseManifests([
      { path: 'b.yaml', text: service('web', 80) },
      { path: 'a.yaml', text: service('web', 81) },
    ]);
    expect(services(r)).toEqual(['web:81@a.yaml']);
    expect(problems(r)).toEqual(['error b.yaml: Service shop/web is already defined in a.yaml#1; this one is ignored']);
  });
});
