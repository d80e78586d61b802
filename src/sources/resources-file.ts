/**
 * A source of ready-made Envoy resources: one YAML file with lists of clusters, endpoints,
 * listeners, routes and secrets, served to every proxy. It lets Trellis serve xDS before the mesh
 * model exists, and remains useful to hand-test a proxy. The file is watched; a file that does
 * not parse is reported and the last good content keeps serving.
 */
import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { ResourceKind } from '../envoy/types.js';
import type { DesiredSnapshot } from '../xds/cache.js';

const list = z.array(z.record(z.string(), z.unknown())).default([]);
const fileSchema = z
  .object({ clusters: list, endpoints: list, listeners: list, routes: list, secrets: list })
  .strict();

const KEY_OF: Record<ResourceKind, keyof z.output<typeof fileSchema>> = {
  secret: 'secrets',
  cluster: 'clusters',
  endpoint: 'endpoints',
  listener: 'listeners',
  route: 'routes',
};

export class SourceError extends Error {}

function nameOf(kind: ResourceKind, r: Record<string, unknown>): unknown {
  return kind === 'endpoint' ? r.cluster_name : r.name;
}

/** Parses the file's text into a desired snapshot; throws SourceError naming the file and field. */
export function parseResourcesFile(file: string, text: string): DesiredSnapshot {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SourceError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new SourceError(`${file}: ${i?.path.join('.') || '(top level)'}: ${i?.message ?? 'invalid'}`);
  }
  const out: Record<string, unknown> = {};
  for (const [kind, key] of Object.entries(KEY_OF) as [ResourceKind, keyof typeof parsed.data][]) {
    out[kind] = parsed.data[key].map((message, i) => {
      const name = nameOf(kind, message);
      if (typeof name !== 'string' || name === '') {
        throw new SourceError(`${file}: ${key}[${i}].${kind === 'endpoint' ? 'cluster_name' : 'name'}: required`);
      }
      return { name, message, sources: [`${file}#${key}[${i}]`] };
    });
  }
  return out as DesiredSnapshot;
}

export interface ResourcesFileWatch {
  close(): void;
}

/**
 * Reads the file now and again whenever it changes. `onLoad` receives each good version,
 * `onError` each failure; the caller keeps serving the last good one.
 */
export async function watchResourcesFile(
  file: string,
  onLoad: (desired: DesiredSnapshot) => void,
  onError: (err: Error) => void,
): Promise<ResourcesFileWatch> {
  const load = async (): Promise<void> => {
    try {
      onLoad(parseResourcesFile(file, await readFile(file, 'utf8')));
    } catch (err) {
      onError(err as Error);
    }
  };
  await load();
  // Watch the directory: editors replace files rather than write them in place.
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed === null || changed === basename(file)) void load();
  });
  return { close: () => watcher.close() };
}
