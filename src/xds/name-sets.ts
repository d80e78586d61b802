/**
 * Subscription name sets, interned: every sidecar of a proxy class subscribes to the same names,
 * so thousands of streams can share one read-only Set instead of holding a copy each. Sets are
 * reference counted and dropped when no stream holds them.
 */
import { createHash } from 'node:crypto';

interface Slot {
  readonly set: ReadonlySet<string>;
  refs: number;
}

export const EMPTY_NAMES: ReadonlySet<string> = new Set();

export class NameSets {
  private readonly pool = new Map<string, Slot>();
  private readonly keys = new WeakMap<ReadonlySet<string>, string>();
  /**
   * Per size, the set last acquired without a key: the next proxy of a class most often subscribes
   * to the very same names, which a look-up per name tells more cheaply than sorting and hashing them.
   */
  private readonly recent = new Map<number, ReadonlySet<string>>();

  /**
   * The shared set with exactly these names (one reference taken). `key` names the set when the
   * caller already has a digest of it (a SotW request's names); otherwise it is worked out.
   */
  acquire(names: ReadonlySet<string>, key?: string): ReadonlySet<string> {
    if (names.size === 0) return EMPTY_NAMES;
    if (key === undefined) {
      const recent = this.recent.get(names.size);
      const known = recent !== undefined && sameNames(recent, names) ? this.keys.get(recent) : undefined;
      key = known ?? NameSets.keyOf(names);
    }
    let slot = this.pool.get(key);
    if (!slot) {
      slot = { set: names, refs: 0 };
      this.pool.set(key, slot);
      this.keys.set(names, key);
    }
    slot.refs++;
    if (key.startsWith('set:')) this.recent.set(slot.set.size, slot.set);
    return slot.set;
  }

  /** The set held under a key, if any (no reference taken). */
  peek(key: string): ReadonlySet<string> | undefined {
    return this.pool.get(key)?.set;
  }

  private static keyOf(names: ReadonlySet<string>): string {
    const hash = createHash('sha1');
    for (const n of [...names].sort()) hash.update(n).update('\n');
    return `set:${hash.digest('base64')}`;
  }

  /** Gives back one reference to a set obtained from acquire. */
  release(set: ReadonlySet<string>): void {
    const key = this.keys.get(set);
    if (key === undefined) return;
    const slot = this.pool.get(key);
    if (!slot) return;
    slot.refs--;
    if (slot.refs <= 0) {
      this.pool.delete(key);
      this.keys.delete(set);
      if (this.recent.get(set.size) === set) this.recent.delete(set.size);
    }
  }

  /** Distinct sets held (for tests and metrics). */
  get size(): number {
    return this.pool.size;
  }
}

function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const name of b) if (!a.has(name)) return false;
  return true;
}
