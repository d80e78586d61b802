/**
 * Encoded response bodies (a response without its nonce) by content key, kept across events: every
 * stream that is sent the same content shares one encoding, whether the streams are pushed to by one
 * change or connect one after another (a cold start: a thousand proxies asking for the same CDS and
 * EDS, each request its own event). A key names the content (protocol, type, the kind's version, the
 * names sent and removed), so a body found under it is what encoding would give again.
 *
 * Bounded by bytes, least recently used out first; a body larger than the bound is not kept.
 */
export class ResponseBodies {
  private readonly bodies = new Map<string, Buffer>();
  private held = 0;
  /** How many bodies were encoded (misses), for tests and the bench. */
  encodes = 0;

  constructor(readonly maxBytes: number) {}

  /** The body under `key`, encoded by `encode` when it is not held. */
  get(key: string, encode: () => Buffer): Buffer {
    const found = this.bodies.get(key);
    if (found !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.bodies.delete(key);
      this.bodies.set(key, found);
      return found;
    }
    const body = encode();
    this.encodes++;
    if (body.length > this.maxBytes) return body;
    this.bodies.set(key, body);
    this.held += body.length;
    for (const [oldest, bytes] of this.bodies) {
      if (this.held <= this.maxBytes) break;
      this.bodies.delete(oldest);
      this.held -= bytes.length;
    }
    return body;
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
