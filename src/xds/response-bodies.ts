/**
 * Encoded response bodies (a response without its nonce) by content key, kept across events: every
 * stream that is sent the same content shares one encoding, whether the streams are pushed to by one
 * change or connect one after another (a cold start: a thousand proxies asking for the same CDS and
 * EDS, each request its own event). A key names the content (protocol, type, the kind's version, the
 * names sent and removed), so a body found under it is what encoding would give again.
 *
 * Each body belongs to the version of the kind snapshot it was encoded from, and goes when the
 * snapshot cache holds no snapshot of that version any more (`forget`: the classes that held it
 * changed or went), so that nothing is kept for proxies that have gone. Bounded by bytes besides,
 * least recently used out first; a body larger than the bound is not kept.
 */
export class ResponseBodies {
  private readonly bodies = new Map<string, { readonly body: Buffer; readonly version: string }>();
  /** The keys of each version's bodies. */
  private readonly byVersion = new Map<string, Set<string>>();
  private held = 0;
  /** How many bodies were encoded (misses), for tests and the bench. */
  encodes = 0;

  constructor(readonly maxBytes: number) {}

  /** The body under `key` (of a snapshot of `version`), encoded by `encode` when it is not held. */
  get(key: string, version: string, encode: () => Buffer): Buffer {
    const found = this.bodies.get(key);
    if (found !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.bodies.delete(key);
      this.bodies.set(key, found);
      return found.body;
    }
    const body = encode();
    this.encodes++;
    if (body.length > this.maxBytes) return body;
    this.bodies.set(key, { body, version });
    let keys = this.byVersion.get(version);
    if (keys === undefined) {
      keys = new Set();
      this.byVersion.set(version, keys);
    }
    keys.add(key);
    this.held += body.length;
    for (const oldest of this.bodies.keys()) {
      if (this.held <= this.maxBytes) break;
      this.remove(oldest);
    }
    return body;
  }

  /** Lets go of every body of `version`. */
  forget(version: string): void {
    const keys = this.byVersion.get(version);
    if (keys === undefined) return;
    for (const key of keys) this.remove(key);
  }

  private remove(key: string): void {
    const found = this.bodies.get(key);
    if (found === undefined) return;
    this.bodies.delete(key);
    this.held -= found.body.length;
    const keys = this.byVersion.get(found.version);
    keys?.delete(key);
    if (keys?.size === 0) this.byVersion.delete(found.version);
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** Bodies held. */
  get size(): number {
    return this.bodies.size;
  }
}
