import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseResourcesFile, SourceError, watchResourcesFile } from '../../src/sources/resources-file.ts';
import type { DesiredSnapshot } from '../../src/xds/cache.ts';

describe('parseResourcesFile', () => {
  it('reads each list into its kind, with the file and index as the source', () => {
    const desired = parseResourcesFile('f.yaml', 'clusters:\n  - name: a\nendpoints:\n  - cluster_name: a\n');
    expect([...(desired.cluster ?? [])]).toEqual([{ name: 'a', message: { name: 'a' }, sources: ['f.yaml#clusters[0]'] }]);
    expect([...(desired.endpoint ?? [])].map((e) => e.name)).toEqual(['a']);
  });

  it.each([
    ['clusters: [a: 1', 'f.yaml: not valid YAML'],
    ['clusterz: []', 'f.yaml: (top level): Unrecognized key'],
    ['clusters:\n  - type: EDS', 'f.yaml: clusters[0].name: required'],
    ['endpoints:\n  - endpoints: []', 'f.yaml: endpoints[0].cluster_name: required'],
    ['listeners: 3', 'f.yaml: listeners: '],
  ])('names the file and field of a bad document: %j', (text, message) => {
    expect(() => parseResourcesFile('f.yaml', text)).toThrow(SourceError);
    expect(() => parseResourcesFile('f.yaml', text)).toThrow(message);
  });
});

describe('watchResourcesFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-src-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the file, reloads it when it is replaced, and reports a broken version', async () => {
    const file = join(dir, 'r.yaml');
    await writeFile(file, 'clusters:\n  - name: a\n');
    const loads: DesiredSnapshot[] = [];
    const errors: Error[] = [];
    let wake: () => void = () => undefined;
    const event = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    let next = event();
    const w = await watchResourcesFile(
      file,
      (d) => {
        loads.push(d);
        wake();
      },
      (e) => {
        errors.push(e);
        wake();
      },
    );
    expect(loads).toHaveLength(1);
    next = event();
    await writeFile(join(dir, 'tmp'), 'clusters: [oops');
    await rename(join(dir, 'tmp'), file);
    await next;
    expect(errors[0]?.message).toContain('not valid YAML');
    next = event();
    await writeFile(join(dir, 'tmp'), 'clusters:\n  - name: b\n');
    await rename(join(dir, 'tmp'), file);
    await next;
    w.close();
    expect([...(loads.at(-1)?.cluster ?? [])].map((c) => c.name)).toEqual(['b']);
  });
});
