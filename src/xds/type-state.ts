/**
 * Per-stream, per-type protocol state: the subscription, what was sent and acked, the last NACK,
 * and what changed since the last response. Plain data with small, synchronous methods.
 */
import type { ResourceKind } from '../envoy/types.js';
import type { KindSnapshot } from './cache.js';
import { EMPTY_NAMES } from './name-sets.js';
import type { ResourceEntry } from './resource.js';
import type { NackRecord, SyncState, TypeStatus } from './status.js';

/** Listener and Cluster responses carry the whole set; the other kinds may carry only changes. */
export function isFullState(kind: ResourceKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

export class TypeState {
  /** Subscribed to everything (explicit `*`, or the legacy empty first request). */
  wildcard = false;
  /** The first request for this type had no names: an empty list later still means wildcard (SotW). */
  legacyWildcard = false;
  /** Names subscribed to explicitly: a shared, read-only set (see NameSets); replace, never mutate. */
  names: ReadonlySet<string> = EMPTY_NAMES;
  /** A request for this type has been seen. */
  requested = false;
  /** SotW: the digest of the names of the last request, to recognise an ACK that repeats them. */
  namesDigest = '';
  /** At least one response has been sent for this type. */
  answered = false;

  nonceSent = '';
  versionSent = '';
  nonceAcked = '';
  versionAcked = '';
  /** A response is on its way and its ACK or NACK has not come back. */
  inFlight = false;
  lastError: NackRecord | undefined;

  /** Names whose content changed (or were newly subscribed) since the last response. */
  readonly dirty = new Set<string>();
  /** Every subscribed name must be reconsidered (a new wildcard, a reconnect with an old version). */
  dirtyAll = false;
  /** A full-state type must answer even if its set is unchanged (its subscription changed). */
  mustAnswer = false;
  /** What the proxy reported it already has when it (re)connected, resolved at the first flush. */
  initialVersions: ReadonlyMap<string, string> | undefined;
  /** SotW: the version the proxy says it has on a new stream. */
  initialVersion = '';

  /** The kind's snapshot the last response was taken from, and the one the proxy acked. */
  inFlightKind: KindSnapshot | undefined;
  ackedKind: KindSnapshot | undefined;
  /** The resources in the response in flight: their sources trace a NACK to its cause. */
  inFlightEntries: readonly ResourceEntry[] = [];
  /** When the oldest change not yet sent reached the server (ms, monotonic), and the one in flight. */
  pendingSince: number | undefined;
  inFlightSince: number | undefined;

  constructor(
    readonly kind: ResourceKind,
    readonly typeUrl: string,
  ) {}

  subscribes(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Marks the changed names this stream subscribes to. Returns true if any was marked. */
  markChanged(names: Iterable<string>, now: number): boolean {
    let marked = false;
    for (const name of names) {
      if (!this.subscribes(name)) continue;
      this.dirty.add(name);
      marked = true;
    }
    if (marked) this.pendingSince ??= now;
    return marked;
  }

  /** The entries this stream subscribes to in a kind snapshot, in name order. */
  subscribedEntries(kind: KindSnapshot): ResourceEntry[] {
    if (this.wildcard) return [...kind.entries.values()];
    const out: ResourceEntry[] = [];
    for (const [name, entry] of kind.entries) if (this.names.has(name)) out.push(entry);
    return out;
  }

  /** Records a response written to the stream. */
  sent(nonce: string, version: string, kind: KindSnapshot, entries: readonly ResourceEntry[]): void {
    this.nonceSent = nonce;
    this.versionSent = version;
    this.inFlight = true;
    this.answered = true;
    this.inFlightKind = kind;
    this.inFlightEntries = entries;
    this.inFlightSince = this.pendingSince;
    this.pendingSince = undefined;
    this.dirty.clear();
    this.dirtyAll = false;
    this.mustAnswer = false;
  }

  /** An ACK of the response in flight. Returns the seconds from change to ACK, if a change caused it. */
  ack(now: number): number | undefined {
    this.inFlight = false;
    this.nonceAcked = this.nonceSent;
    this.versionAcked = this.versionSent;
    this.ackedKind = this.inFlightKind;
    this.lastError = undefined;
    this.inFlightEntries = [];
    const since = this.inFlightSince;
    this.inFlightSince = undefined;
    return since === undefined ? undefined : (now - since) / 1000;
  }

  /** A NACK of the response in flight: remembered; the rejected version is not sent again until it changes. */
  nack(record: NackRecord): void {
    this.inFlight = false;
    this.lastError = record;
    this.inFlightSince = undefined;
    this.inFlightEntries = [];
  }

  /** Something is waiting to be sent. */
  hasPending(): boolean {
    return this.dirty.size > 0 || this.dirtyAll || this.mustAnswer || this.initialVersions !== undefined;
  }

  status(): TypeStatus {
    return {
      kind: this.kind,
      typeUrl: this.typeUrl,
      state: this.syncState(),
      versionSent: this.versionSent,
      versionAcked: this.versionAcked,
      nonceSent: this.nonceSent,
      nonceAcked: this.nonceAcked,
      wildcard: this.wildcard,
      subscribed: [...this.names].sort(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private syncState(): SyncState {
    if (!this.answered) return 'NOT SENT';
    if (this.lastError && !this.inFlight && this.nonceAcked !== this.nonceSent) return 'ERROR';
    if (this.inFlight || this.hasPending()) return 'STALE';
    return 'SYNCED';
  }
}
