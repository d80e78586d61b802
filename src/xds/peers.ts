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

/** Whether a stream has Secrets sent or due that it has not answered. */
function unanswered(s: AdsStream): boolean {
  const ts = s.types.get('secret');
  return ts !== undefined && ts.requested && (ts.inFlight || ts.hasPending());
}

export class PeerStreams {
  private readonly byIdentity = new Map<string, Set<AdsStream>>();
  /** Waiters of delivered(), checked at most once per turn of the event loop after an answer. */
  private readonly deliveryChecks = new Set<() => void>();
  private checkScheduled = false;

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

  private has(s: AdsStream): boolean {
    return s.peer !== undefined && this.byIdentity.get(s.peer.identity)?.has(s) === true;
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
    this.answered();
    if (set.size > 0) return;
    this.byIdentity.delete(s.peer.identity);
    this.onPeer?.(s.peer.identity, false);
  }

  /** Authenticated streams with Secrets sent or due that they have not answered (ACK or NACK) yet. */
  private undelivered(): Set<AdsStream> {
    const out = new Set<AdsStream>();
    for (const set of this.byIdentity.values()) for (const s of set) if (unanswered(s)) out.add(s);
    return out;
  }

  /** A stream answered Secrets, or left: the waiters of delivered() look again (once per turn). */
  answered(): void {
    if (this.deliveryChecks.size === 0 || this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      for (const check of [...this.deliveryChecks]) check();
    });
  }

  /**
   * Resolves once every authenticated stream that has Secrets it has not answered on the next turn
   * (after what was just pushed) has answered them or left, or after `timeoutMs` at most: with the
   * number still silent then.
   */
  delivered(timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      // The streams to wait for, found once; each look then goes over those still waiting only.
      let waiting: Set<AdsStream> | undefined;
      const check = (): void => {
        waiting ??= this.undelivered();
        for (const s of waiting) if (!unanswered(s) || !this.has(s)) waiting.delete(s);
        if (waiting.size === 0) finish();
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.deliveryChecks.delete(check);
        resolve(waiting?.size ?? 0);
      };
      const timer = setTimeout(() => {
        check();
        if (this.deliveryChecks.has(check)) finish();
      }, timeoutMs);
      this.deliveryChecks.add(check);
      setImmediate(check);
    });
  }
}
