/**
 * What the manifests-* watch tests share: a real directory under os.tmpdir(), a watch on it, the
 * results it reports and a way to wait for the first one, from now on, that satisfies a test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { watchManifests, type ManifestResult, type ManifestWatch, type WatchManifestsOptions } from '../../src/sources/manifests/index.ts';

export const service = (name: string, port: number): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { ports: [{ port: ${port} }] }\n`;

export const services = (r: ManifestResult): string[] =>
  r.inputs.services.map((s) => `${s.object.metadata.name}:${s.object.spec.ports[0]?.port ?? ''}@${s.origin.file ?? ''}`);

/** `error loop.yaml: cannot read: …`: a problem in a few words, for comparing lists. */
export const problems = (r: ManifestResult): string[] => [...r.errors, ...r.warnings].map((d) => `${d.severity} ${d.origin?.file ?? ''}: ${d.message}`);

type Waiter<T> = { test: (value: T) => boolean; resolve: (value: T) => void };

/** Values as they come, and a way to wait for the first one, from now on, that satisfies a test. */
export class Events<T> {
  private waiters: Waiter<T>[] = [];
  readonly push = (value: T): void => {
    const ready = this.waiters.filter((w) => w.test(value));
    this.waiters = this.waiters.filter((w) => !w.test(value));
    for (const w of ready) w.resolve(value);
  };
  until(test: (value: T) => boolean): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

/** A temporary directory, a watch on it, what it reported and what it logged. */
export class WatchedDir {
  readonly changes = new Events<ManifestResult>();
  readonly logs = new Events<Record<string, unknown>>();
  readonly logged: Record<string, unknown>[] = [];
  watch: ManifestWatch | undefined;

  private constructor(readonly dir: string) {}

  static async create(): Promise<WatchedDir> {
    return new WatchedDir(await mkdtemp(join(tmpdir(), 'trellis-manifests-')));
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  async start(root = this.dir, opts: Partial<WatchManifestsOptions> = {}): Promise<ManifestWatch> {
    const logger = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          this.logged.push(entry);
          this.logs.push(entry);
        },
      },
    );
    this.watch = await watchManifests(root, { onChange: this.changes.push, logger, ...opts });
    return this.watch;
  }

  servicesBecome(expected: string[]): Promise<ManifestResult> {
    return this.changes.until((r) => JSON.stringify(services(r)) === JSON.stringify(expected));
  }

  async close(): Promise<void> {
    this.watch?.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
