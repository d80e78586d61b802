/**
 * The secure port's streams by the identity that opened them, and the Secrets each receives: a
 * stream's class snapshot with its peer's Secrets in place of the class's (translation makes none).
 * An identity's first stream and its last one leaving are told, so its certificate is asked for
 * only while a proxy of it is connected. `delivered` tells when every stream has answered the Secrets
 * it was sent (a new `ROOTCA` trusted everywhere before certificates of a new CA go out).
 */
import type { Snapshot, SnapshotCache, SnapshotChange } from './cache.js';
import { digestOf } from './resource.js';
import type { AdsStream } from './stream.js';

/** What a stream without a peer's Secrets has: none. */
const NO_SECRETS: Snapshot['secret'] = { entries: new Map(), version: digestOf([]) };

/** A pending delivered(): the streams it still waits for. */
interface Delivery {
  readonly waiting: Set<AdsStream>;
  readonly done: () => void;
}

/** Whether a stream has Secrets sent or due that it has not answered. */
function unanswered(s: AdsStream): boolean {
  const ts = s.types.get('secret');
  return ts !== undefined && ts.requested && (ts.inFlight || ts.hasPending());
}

export class PeerStreams {
  private readonly byIdentity = new Map<string, Set<AdsStream>>();
  /** The streams each pending delivered() still waits for. */
  private readonly deliveries = new Set<Delivery>();

  constructor(
    private readonly secrets: SnapshotCache | undefined,
    private readonly onPeer: ((identity: string, connected: boolean) => void) | undefined,
  ) {}

  /** `snapshot` (the stream's class's) as `s` is to be served it. */
  snapshotFor(s: AdsStream, snapshot: Snapshot | undefined): Snapshot | undefined {
    if (!snapshot || !s.peer) return snapshot;
    const secret = this.secrets?.get(s.peer.identity)?.secret ?? NO_SECRETS;
    return snapshot.secret === secret ? snapshot : { ...snapshot, secret };
  }

  /** The authenticated streams a Secret change (a "class" of the secrets cache is an identity) concerns. */
  streamsOf(change: SnapshotChange): ReadonlySet<AdsStream> | undefined {
    return this.byIdentity.get(change.proxyClass);
  }

  add(s: AdsStream): void {
    if (!s.peer) return;
    let set = this.byIdentity.get(s.peer.identity);
    if (!set) {
      set = new Set();
      this.byIdentity.set(s.peer.identity, set);
      this.onPeer?.(s.peer.identity, true);
    }
    set.add(s);
  }

  remove(s: AdsStream): void {
    if (!s.peer) return;
    const set = this.byIdentity.get(s.peer.identity);
    if (!set?.delete(s)) return;
    this.settled(s);
    if (set.size > 0) return;
    this.byIdentity.delete(s.peer.identity);
    this.onPeer?.(s.peer.identity, false);
  }

  /** Stream `s` answered (ACK or NACK) its Secrets: done with, unless more are due already. */
  answered(s: AdsStream): void {
    if (!unanswered(s)) this.settled(s);
  }

  /**
   * Resolves once every authenticated stream that has Secrets it has not answered (ACK or NACK) on
   * the next turn — after what was just pushed — has answered them or left, or after `timeoutMs` at
   * most: with the number still silent then.
   */
  delivered(timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      setImmediate(() => {
        const waiting = new Set<AdsStream>();
        for (const set of this.byIdentity.values()) for (const s of set) if (unanswered(s)) waiting.add(s);
        if (waiting.size === 0) return resolve(0);
        const d: Delivery = {
          waiting,
          done: () => {
            clearTimeout(timer);
            this.deliveries.delete(d);
            resolve(waiting.size);
          },
        };
        const timer = setTimeout(d.done, timeoutMs);
        this.deliveries.add(d);
      });
    });
  }

  /** `s` no longer keeps a delivery waiting. */
  private settled(s: AdsStream): void {
    for (const d of this.deliveries) if (d.waiting.delete(s) && d.waiting.size === 0) d.done();
  }
}
