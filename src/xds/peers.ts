/**
 * The secure port's streams by the identity that opened them, and the Secrets each receives: a
 * stream's class snapshot with its peer's Secrets in place of the class's (translation makes none).
 * An identity's first stream and its last one leaving are told, so its certificate is asked for
 * only while a proxy of it is connected.
 */
import type { Snapshot, SnapshotCache, SnapshotChange } from './cache.js';
import { digestOf } from './resource.js';
import type { AdsStream } from './stream.js';

/** What a stream without a peer's Secrets has: none. */
const NO_SECRETS: Snapshot['secret'] = { entries: new Map(), version: digestOf([]) };

export class PeerStreams {
  private readonly byIdentity = new Map<string, Set<AdsStream>>();

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
    if (!set?.delete(s) || set.size > 0) return;
    this.byIdentity.delete(s.peer.identity);
    this.onPeer?.(s.peer.identity, false);
  }
}
