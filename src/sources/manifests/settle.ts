/**
 * Taking a file only once it is whole. A file written in place, in pieces, is taken once its size
 * and mtime have stayed the same for a settle window; until then the version taken before (or,
 * for a new file, nothing) stands in for it. A file replaced by rename — an editor's save, the
 * `..data` symlink swap of a Kubernetes ConfigMap volume — is whole the moment it appears: taken at once.
 */
import type { MeshInputs } from '../../model/inputs.js';
import type { ManifestFile } from './parse.js';
import type { FileStamp } from './files.js';

interface Seen extends FileStamp {
  /** When this size and mtime were first seen (ms). */
  readonly since: number;
}

export interface Settled {
  /** What to parse: each file as read when it is settled, else as last taken. */
  readonly files: ManifestFile[];
  /** In how many ms to look again, when a file is not settled yet. */
  readonly retryInMs: number | undefined;
  /** The files not taken yet (paths). */
  readonly held: string[];
}

/** What the removal guard counts: Services, and every endpoint of every EndpointSlice. */
export interface MeshSize {
  readonly services: number;
  readonly endpoints: number;
}

export function meshSize(inputs: MeshInputs): MeshSize {
  return { services: inputs.services.length, endpoints: inputs.endpointSlices.reduce((n, slice) => n + slice.object.endpoints.length, 0) };
}

/** Whether going from `had` to `has` takes away more than half of something. */
function losesMostOf(had: number, has: number): boolean {
  return has * 2 < had;
}

/** Whether `after` has lost more than half of the Services or of the endpoints `before` had. */
export function losesMost(before: MeshSize, after: MeshSize): boolean {
  return losesMostOf(before.services, after.services) || losesMostOf(before.endpoints, after.endpoints);
}

/**
 * A change that would take away more than half of the mesh's Services or endpoints at once (a
 * directory half copied, `rm -rf` midway before the copy, a sync tool midway) is held back for one
 * more settle window, then taken if it still stands.
 */
export class RemovalGuard {
  private heldSince: number | undefined;

  constructor(private readonly windowMs: number) {}

  /** undefined: take `after`; else hold it back, and look again in that many ms. */
  holdFor(before: MeshSize, after: MeshSize, now: number): number | undefined {
    if (this.windowMs === 0 || !losesMost(before, after)) {
      this.heldSince = undefined;
      return undefined;
    }
    this.heldSince ??= now;
    const left = this.windowMs - (now - this.heldSince);
    if (left > 0) return left;
    this.heldSince = undefined;
    return undefined;
  }

  /** Whether a change is being held back now. */
  get holding(): boolean {
    return this.heldSince !== undefined;
  }
}

export class Settler {
  private seen = new Map<string, Seen>();

  constructor(private readonly windowMs: number) {}

  /** Records what a read found at `now`; `taken` are the files taken last time. */
  settle(read: readonly ManifestFile[], stamps: ReadonlyMap<string, FileStamp>, taken: readonly ManifestFile[], now: number): Settled {
    const before = new Map(taken.map((f) => [f.path, f]));
    const next = new Map<string, Seen>();
    const files: ManifestFile[] = [];
    let retryInMs: number | undefined;
    const held: string[] = [];
    for (const file of read) {
      const stamp = stamps.get(file.path);
      if (stamp === undefined) {
        files.push(file);
        continue;
      }
      const prev = this.seen.get(file.path);
      const same = prev !== undefined && prev.id === stamp.id && prev.size === stamp.size && prev.mtimeMs === stamp.mtimeMs;
      const since = same ? prev.since : now;
      next.set(file.path, { ...stamp, since });
      const replaced = prev !== undefined && prev.id !== stamp.id;
      const quiet = Math.max(now - since, now - stamp.mtimeMs);
      const settled = this.windowMs === 0 || replaced || now - since >= this.windowMs || now - stamp.mtimeMs >= this.windowMs;
      if (settled) {
        files.push(file);
        continue;
      }
      const wait = Math.max(1, this.windowMs - Math.max(0, quiet));
      retryInMs = Math.min(retryInMs ?? wait, wait);
      held.push(file.path);
      const last = before.get(file.path);
      if (last !== undefined) files.push(last);
    }
    this.seen = next;
    return { files, retryInMs, held };
  }

  /** The first read: every file is taken as it is (nothing was served before), and remembered. */
  first(read: readonly ManifestFile[], stamps: ReadonlyMap<string, FileStamp>, now: number): ManifestFile[] {
    this.seen = new Map([...stamps].map(([path, stamp]) => [path, { ...stamp, since: now }]));
    return [...read];
  }
}
