import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestProblems, watchManifests, type ManifestResult, type ManifestWatch } from '../../src/sources/manifests/index.ts';

const service = (name: string, port: number): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { ports: [{ port: ${port} }] }\n`;

const services = (r: ManifestResult): string[] =>
  r.inputs.services.map((s) => `${s.object.metadata.name}:${s.object.spec.ports[0]?.port ?? ''}@${s.origin.file ?? ''}`);

/** The results passed to onChange, and a way to wait for the first one, from now on, that satisfies a test. */
class Changes {
  private waiters: { test: (r: ManifestResult) => boolean; resolve: (r: ManifestResult) => void }[] = [];
  readonly onChange = (r: ManifestResult): void => {
    const ready = this.waiters.filter((w) => w.test(r));
    this.waiters = this.waiters.filter((w) => !w.test(r));
    for (const w of ready) w.resolve(r);
  };
  until(test: (r: ManifestResult) => boolean): Promise<ManifestResult> {
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
  servicesBecome(expected: string[]): Promise<ManifestResult> {
    return this.until((r) => JSON.stringify(services(r)) === JSON.stringify(expected));
  }
}

describe('watchManifests', { timeout: 5000 }, () => {
  let dir: string;
  let watch: ManifestWatch | undefined;
  let changes: Changes;
  let logs: Record<string, unknown>[];
  const start = async (): Promise<ManifestWatch> => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    watch = await watchManifests(dir, { onChange: changes.onChange, logger });
    return watch;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-watch-'));
    changes = new Changes();
    logs = [];
    await writeFile(join(dir, 'web.yaml'), service('web', 80));
  });
  afterEach(async () => {
    watch?.close();
    watch = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves with the first read, and sees a file written in place', async () => {
    const w = await start();
    expect(services(w.result)).toEqual(['web:80@web.yaml']);
    const next = changes.servicesBecome(['web:81@web.yaml']);
    await writeFile(join(dir, 'web.yaml'), service('web', 81));
    await next;
  });

  it('sees a new file in a new subdirectory, then files written in it', async () => {
    await start();
    let next = changes.servicesBecome(['api:90@a/b/api.yaml', 'web:80@web.yaml']);
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'a', 'b', 'api.yaml'), service('api', 90));
    await next;
    next = changes.servicesBecome(['api:91@a/b/api.yaml', 'web:80@web.yaml']);
    await writeFile(join(dir, 'a', 'b', 'api.yaml'), service('api', 91));
    await next;
  });

  it('sees a deleted file and a deleted directory', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'api.yaml'), service('api', 90));
    await start();
    let next = changes.servicesBecome(['api:90@sub/api.yaml']);
    await rm(join(dir, 'web.yaml'));
    await next;
    next = changes.servicesBecome([]);
    await rm(join(dir, 'sub'), { recursive: true });
    await next;
    next = changes.servicesBecome(['api:92@sub/api.yaml']);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'api.yaml'), service('api', 92));
    await next;
  });

  it('sees a file replaced by rename, and in-place writes to it afterwards', async () => {
    await start();
    let next = changes.servicesBecome(['web:81@web.yaml']);
    await writeFile(join(dir, '.web.yaml.tmp'), service('web', 81));
    await rename(join(dir, '.web.yaml.tmp'), join(dir, 'web.yaml'));
    await next;
    // Node 20's recursive fs.watch misses these (it keeps watching the replaced inode); stray
    // events from the rename can hide that for one write, not for three.
    for (const port of [82, 83, 84]) {
      next = changes.servicesBecome([`web:${port}@web.yaml`]);
      await writeFile(join(dir, 'web.yaml'), service('web', port));
      await next;
    }
  });

  it('keeps the last good version of a broken file, with the error and its location (the pipeline logs them)', async () => {
    await start();
    const next = changes.until((r) => r.errors.length > 0);
    await writeFile(join(dir, 'web.yaml'), service('web', 70000));
    const broken = await next;
    expect(services(broken)).toEqual(['web:80@web.yaml']);
    expect(broken.errors).toEqual([
      expect.objectContaining({
        origin: { file: 'web.yaml', document: 0, line: 4, column: 19 },
        object: { kind: 'Service', namespace: 'shop', name: 'web' },
        field: 'spec.ports[0].port',
        message: 'Too big: expected number to be <=65535',
      }),
    ]);
    expect(broken.warnings.map((w) => w.message)).toEqual(['kept serving the last good version (from web.yaml#1)']);
    expect(logs.filter((l) => Number(l.level) >= 40)).toEqual([]);
  });

  it('counts the objects of kinds it does not read, for one line, not one warning each', async () => {
    const other = (kind: string, name: string): string => `apiVersion: v1\nkind: ${kind}\nmetadata: { name: ${name}, namespace: shop }\n`;
    await writeFile(join(dir, 'other.yaml'), [other('ConfigMap', 'a'), other('ConfigMap', 'b'), other('Secret', 'c')].join('---\n'));
    const w = await start();
    expect(w.result.skipped).toEqual({ ConfigMap: 2, Secret: 1 });
    expect(manifestProblems(w.result).map((p) => p.message)).toEqual(['skipped 3 objects of kinds Trellis does not read: ConfigMap (2), Secret (1)']);
  });

  it('rejects when the directory cannot be read', async () => {
    await expect(watchManifests(join(dir, 'missing'), { onChange: changes.onChange, logger: pino({ level: 'silent' }) })).rejects.toThrow(/ENOENT/);
  });
});
