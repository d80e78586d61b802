/**
 * The manifests source reads again only what changed (issue 14): the files the watchers name, the
 * trees of directories created or renamed into place, and the linked entries of a directory whose
 * hidden `..data` link was swapped; and the parse keeps what it found in every file whose text is
 * the same. Each read logs (debug, 'manifests read') which files it took from the disk.
 */
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { ManifestTree } from '../../src/sources/manifests/tree.ts';
import { service, services, WatchedDir } from './manifests-support.ts';

interface ReadLine {
  readonly walked: boolean;
  readonly read: number;
  readonly files: string[];
}

const isRead = (l: Record<string, unknown>): boolean => l.msg === 'manifests read';
const readLines = (d: WatchedDir): ReadLine[] => d.logged.filter(isRead) as unknown as ReadLine[];
/** The files read from the disk after the first read, each once, sorted. */
const readSinceStart = (d: WatchedDir): string[] =>
  [
    ...new Set(
      readLines(d)
        .slice(1)
        .flatMap((l) => l.files),
    ),
  ].sort();

/** Replaces a file as editors and `git checkout` do: written beside it, renamed over it. */
async function replace(d: WatchedDir, path: string, text: string): Promise<void> {
  await writeFile(d.path(`.${path.replaceAll('/', '_')}.tmp`), text);
  await rename(d.path(`.${path.replaceAll('/', '_')}.tmp`), d.path(path));
}

describe('reading again only what changed', { timeout: 20_000 }, () => {
  let d: WatchedDir;
  const names = Array.from({ length: 40 }, (_, i) => `svc${String(i).padStart(2, '0')}`);
  beforeEach(async () => {
    d = await WatchedDir.create();
    await mkdir(d.path('a'));
    await mkdir(d.path('b'));
    for (const [i, name] of names.entries()) await writeFile(d.path(i % 2 === 0 ? 'a' : 'b', `${name}.yaml`), service(name, 80));
  });
  afterEach(async () => d.close());

  it('the first read walks the tree and reads every file; a file replaced is the only one read again', async () => {
    await d.start();
    expect(readLines(d)).toEqual([expect.objectContaining({ walked: true, read: 40 })]);
    const next = d.changes.until((r) => services(r).includes('svc03:81@b/svc03.yaml'));
    await replace(d, 'b/svc03.yaml', service('svc03', 81));
    const r = await next;
    expect(services(r)).toHaveLength(40);
    const reads = readLines(d).slice(1);
    expect(reads.every((l) => !l.walked)).toBe(true);
    expect(reads.flatMap((l) => l.files)).toEqual(['b/svc03.yaml']);
  });

  it('a file written in place, created or removed is read (or dropped) alone', async () => {
    await d.start();
    const written = d.changes.until((r) => services(r).includes('svc00:82@a/svc00.yaml'));
    await writeFile(d.path('a', 'svc00.yaml'), service('svc00', 82));
    await written;
    const created = d.changes.until((r) => services(r).includes('new:90@b/new.yaml'));
    await writeFile(d.path('b', 'new.yaml'), service('new', 90));
    await created;
    const removed = d.changes.until((r) => !services(r).some((s) => s.startsWith('svc01:')));
    await rm(d.path('b', 'svc01.yaml'));
    expect(services(await removed)).toHaveLength(40);
    expect(readSinceStart(d)).toEqual(['a/svc00.yaml', 'b/new.yaml']);
  });

  it('a directory renamed into place is walked, and only its files are read; removed, its objects go', async () => {
    await d.start();
    await mkdir(d.path('.staging'));
    await writeFile(d.path('.staging', 'x.yaml'), service('x', 70));
    await mkdir(d.path('.staging', 'deeper'));
    await writeFile(d.path('.staging', 'deeper', 'y.yaml'), service('y', 71));
    const added = d.changes.until((r) => services(r).includes('y:71@c/deeper/y.yaml'));
    await rename(d.path('.staging'), d.path('c'));
    expect(services(await added)).toContain('x:70@c/x.yaml');
    expect(
      readLines(d)
        .slice(1)
        .flatMap((l) => l.files),
    ).toEqual(['c/deeper/y.yaml', 'c/x.yaml']);
    const edited = d.changes.until((r) => services(r).includes('y:72@c/deeper/y.yaml'));
    await replace(d, 'c/deeper/y.yaml', service('y', 72)); // the new directories are watched
    await edited;
    const gone = d.changes.until((r) => !services(r).some((s) => s.startsWith('x:') || s.startsWith('y:')));
    await rm(d.path('c'), { recursive: true });
    expect(services(await gone)).toHaveLength(40);
  });

  it('a ConfigMap volume swapping ..data reads its linked files again, and nothing else', async () => {
    await mkdir(d.path('cm', '..2026_a'), { recursive: true });
    await writeFile(d.path('cm', '..2026_a', 'p.yaml'), service('p', 80));
    await writeFile(d.path('cm', '..2026_a', 'q.yaml'), service('q', 80));
    await symlink('..2026_a', d.path('cm', '..data'));
    await symlink('..data/p.yaml', d.path('cm', 'p.yaml'));
    await symlink('..data/q.yaml', d.path('cm', 'q.yaml'));
    await writeFile(d.path('cm', 'plain.yaml'), service('plain', 80));
    await d.start();
    await mkdir(d.path('cm', '..2026_b'));
    await writeFile(d.path('cm', '..2026_b', 'p.yaml'), service('p', 81));
    await writeFile(d.path('cm', '..2026_b', 'q.yaml'), service('q', 80));
    const next = d.changes.until((r) => services(r).includes('p:81@cm/p.yaml'));
    await symlink('..2026_b', d.path('cm', '..data_tmp'));
    await rename(d.path('cm', '..data_tmp'), d.path('cm', '..data'));
    await next;
    expect(readSinceStart(d)).toEqual(['cm/p.yaml', 'cm/q.yaml']);
  });
});

describe('the tree', () => {
  it('an update naming no entry (the watcher did not say which) looks at every entry of the directory', async () => {
    const d = await WatchedDir.create();
    try {
      await writeFile(d.path('one.yaml'), service('one', 80));
      await writeFile(d.path('two.yaml'), service('two', 80));
      const tree = new ManifestTree(d.dir);
      expect(await tree.readAll(() => undefined)).toEqual(['one.yaml', 'two.yaml']);
      await rm(d.path('one.yaml'));
      await writeFile(d.path('three.yaml'), service('three', 80));
      expect(await tree.update(new Map([[d.dir, 'all']]), () => undefined)).toEqual(['three.yaml']);
      expect(tree.list().map((f) => f.path)).toEqual(['three.yaml', 'two.yaml']);
      expect(await tree.update(new Map([[d.path('nowhere'), 'all']]), () => undefined)).toEqual([]);
    } finally {
      await d.close();
    }
  });
});

describe('the parse keeps what it found in an unchanged text', () => {
  it('the same text serves the same Input objects; a changed file, new ones for its own objects only', () => {
    const first = parseManifests([
      { path: 'a.yaml', text: service('a', 80) },
      { path: 'b.yaml', text: service('b', 80) },
    ]);
    const same = parseManifests(
      [
        { path: 'a.yaml', text: service('a', 80) },
        { path: 'b.yaml', text: service('b', 81) },
      ],
      first.state,
    );
    expect(same.inputs.services[0]).toBe(first.inputs.services[0]);
    expect(same.inputs.services[1]).not.toBe(first.inputs.services[1]);
    expect(same.inputs.services[1]?.object.spec.ports[0]?.port).toBe(81);
    // Moved to another file, the same text is another object (its origin names the file).
    const moved = parseManifests([{ path: 'c.yaml', text: service('a', 80) }], same.state);
    expect(moved.inputs.services[0]?.origin.file).toBe('c.yaml');
  });
});
