/**
 * Per-stream, per-type protocol state: the subscription, what was sent and acked, the last NACK,
 * and what changed since the last response. Its fields are private: the streams read them through
 * accessors and change them only through the methods below, each one protocol event (a request's
 * subscription, a change in the cache, a response sent, an ACK, a NACK). Every method is synchronous.
 * The queries (`subscribes`, `initialLacks`, `status`, ...) never write.
 */
import type { ResourceKind } from '../envoy/types.js';
import type { KindSnapshot } from './cache.js';
import { EMPTY_NAMES } from './name-sets.js';
import type { ResourceEntry } from './resource.js';
import { firstSorted, SUBSCRIBED_LISTED, type NackRecord, type SyncState, type TypeStatus } from './status.js';

/** What a response covered: everything, or the names subscribed to then. */
interface Scope {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
}

const NO_SCOPE: Scope = { wildcard: false, names: EMPTY_NAMES };

/** Every entry of each kind snapshot, in name order, as one array shared by the streams that hold them all. */
const everyEntry = new WeakMap<KindSnapshot, readonly ResourceEntry[]>();

/** Every entry of a kind snapshot, in name order (an array made once per snapshot, never changed). */
export function allEntries(kind: KindSnapshot): readonly ResourceEntry[] {
  let all = everyEntry.get(kind);
  if (all === undefined) {
    all = Object.freeze([...kind.entries.values()]);
    everyEntry.set(kind, all);
  }
  return all;
}

/** Listener and Cluster responses carry the whole set; the other kinds may carry only changes. */
export function isFullState(kind: ResourceKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

export class TypeState {
  // The subscription.
  /** A request for this type has been seen. */
  #requested = false;
  /** Subscribed to everything (explicit `*`, or the legacy empty first request). */
  #wildcard = false;
  /** The first request for this type had no names: an empty list later still means wildcard (SotW). */
  #legacyWildcard = false;
  /** Names subscribed to explicitly: a shared, read-only set (see NameSets); replaced, never mutated. */
  #names: ReadonlySet<string> = EMPTY_NAMES;
  /** SotW: the digest of the names of the last request, to recognise an ACK that repeats them. */
  #namesDigest = '';

  // What was sent and acked.
  /** At least one response has been sent for this type (or the proxy already had what it would say). */
  #answered = false;
  #nonceSent = '';
  #versionSent = '';
  #nonceAcked = '';
  #versionAcked = '';
  /** A response is on its way and its ACK or NACK has not come back. */
  #inFlight = false;
  /** When the proxy last ACKed this type (Unix ms), or took what it had on reconnecting as acked. */
  #ackedAt: number | undefined;
  #lastError: NackRecord | undefined;
  /** The kind's snapshot the last response was taken from, and the one the proxy acked. */
  #inFlightKind: KindSnapshot | undefined;
  #ackedKind: KindSnapshot | undefined;
  /**
   * The subscription when the response in flight was sent, and when the acked one was: a name
   * subscribed since is not held, even if the acked snapshot has it (a shared set, never mutated).
   */
  #inFlightScope: Scope = NO_SCOPE;
  #ackedScope: Scope = NO_SCOPE;
  /** The resources in the response in flight: their sources trace a NACK to its cause. */
  #inFlightEntries: readonly ResourceEntry[] = [];

  // What waits to be sent.
  /** Names whose content changed (or were newly subscribed) since the last response. */
  readonly #dirty = new Set<string>();
  /** Every subscribed name must be reconsidered (a new wildcard, a reconnect with an old version). */
  #dirtyAll = false;
  /** A full-state type must answer even if its set is unchanged (its subscription changed). */
  #mustAnswer = false;
  /** Delta: what the proxy reported it already has when it (re)connected, resolved at the first flush. */
  #initialVersions: ReadonlyMap<string, string> | undefined;
  /** SotW: the version the proxy says it has on a new stream, resolved at the first flush. */
  #initialVersion = '';
  /** When the oldest change not yet sent reached the server (ms, monotonic), and the one in flight. */
  #pendingSince: number | undefined;
  #inFlightSince: number | undefined;
  /** When the response in flight was written (ms, monotonic). */
  #sentAt: number | undefined;

  constructor(
    readonly kind: ResourceKind,
    readonly typeUrl: string,
  ) {}

  get requested(): boolean {
    return this.#requested;
  }
  get wildcard(): boolean {
    return this.#wildcard;
  }
  get legacyWildcard(): boolean {
    return this.#legacyWildcard;
  }
  get names(): ReadonlySet<string> {
    return this.#names;
  }
  get answered(): boolean {
    return this.#answered;
  }
  get nonceSent(): string {
    return this.#nonceSent;
  }
  get versionAcked(): string {
    return this.#versionAcked;
  }
  get inFlight(): boolean {
    return this.#inFlight;
  }
  get inFlightEntries(): readonly ResourceEntry[] {
    return this.#inFlightEntries;
  }
  get lastError(): NackRecord | undefined {
    return this.#lastError;
  }
  get ackedAt(): number | undefined {
    return this.#ackedAt;
  }
  get dirty(): ReadonlySet<string> {
    return this.#dirty;
  }
  get dirtyAll(): boolean {
    return this.#dirtyAll;
  }
  get mustAnswer(): boolean {
    return this.#mustAnswer;
  }

  subscribes(name: string): boolean {
    return this.#wildcard || this.#names.has(name);
  }

  /** The entries this stream subscribes to in a kind snapshot, in name order (all of them: one array, shared). */
  subscribedEntries(kind: KindSnapshot): readonly ResourceEntry[] {
    if (this.#wildcard) return allEntries(kind);
    const out: ResourceEntry[] = [];
    for (const [name, entry] of kind.entries) if (this.#names.has(name)) out.push(entry);
    return out.length === kind.entries.size ? allEntries(kind) : out;
  }

  /** The subscribed entries the proxy has acked (subscribed to when the acked response was sent, too). */
  ackedEntries(): readonly ResourceEntry[] {
    if (!this.#ackedKind) return [];
    const scope = this.#ackedScope;
    const entries = this.subscribedEntries(this.#ackedKind);
    return scope.wildcard ? entries : entries.filter((e) => scope.names.has(e.name));
  }

  /** The version of a resource the proxy has acked, if any (not of a name it subscribed to since). */
  ackedVersion(name: string): string | undefined {
    return this.ackedEntry(name)?.version;
  }

  /** The resource as the proxy holds it: in the snapshot it acked, and subscribed to when that was sent. */
  ackedEntry(name: string): ResourceEntry | undefined {
    const scope = this.#ackedScope;
    return scope.wildcard || scope.names.has(name) ? this.#ackedKind?.entries.get(name) : undefined;
  }

  /** The message of the last NACK if it rejected this very version of a resource. */
  rejection(entry: { readonly name: string; readonly version: string }): string | undefined {
    const nack = this.#lastError;
    return nack?.rejected.some((r) => r.name === entry.name && r.version === entry.version) ? nack.message : undefined;
  }

  /** SotW: whether a request's names are those of the request before it (the common ACK). */
  repeats(namesDigest: string): boolean {
    return this.#requested && namesDigest === this.#namesDigest;
  }

  /** SotW: remembers the digest of a request's names. */
  rememberDigest(namesDigest: string): void {
    this.#namesDigest = namesDigest;
  }

  /** The first request for this type; `legacyWildcard` when it named nothing. */
  firstRequest(legacyWildcard: boolean): void {
    this.#requested = true;
    this.#legacyWildcard = legacyWildcard;
  }

  /** SotW: names were requested after all, so an empty list no longer means wildcard. */
  endLegacyWildcard(): void {
    this.#legacyWildcard = false;
  }

  /** SotW: the version the proxy says it has on a new stream. */
  reportVersion(version: string): void {
    this.#initialVersion = version;
  }

  /** Delta: the versions the proxy says it has on a new stream. */
  reportVersions(versions: ReadonlyMap<string, string>): void {
    this.#initialVersions = versions;
  }

  /** Subscribes to everything or stops; a new wildcard makes every name due, unless the proxy reported what it has. */
  setWildcard(on: boolean): void {
    if (on && !this.#wildcard && this.#initialVersions === undefined) this.#dirtyAll = true;
    this.#wildcard = on;
  }

  /** Replaces the subscribed names with a shared set; returns the previous one (to release it). */
  replaceNames(next: ReadonlySet<string>): ReadonlySet<string> {
    const previous = this.#names;
    this.#names = next;
    return previous;
  }

  /** Newly subscribed names are due, except those the proxy reported having on (re)connecting. */
  added(names: Iterable<string>): void {
    for (const name of names) if (!this.#initialVersions?.has(name)) this.#dirty.add(name);
  }

  /** An unsubscribed name is no longer due. */
  dropped(name: string): void {
    this.#dirty.delete(name);
  }

  /** A full-state type must answer (its subscription or its set changed), even if no name it holds is due. */
  requireAnswer(): void {
    if (isFullState(this.kind)) this.#mustAnswer = true;
  }

  /** Something not yet sent waits from `now` on, unless something older already does. */
  pendingFrom(now: number): void {
    this.#pendingSince ??= now;
  }

  /** Marks the changed names this stream subscribes to (a full-state type must then answer). */
  markChanged(names: Iterable<string>, now: number): void {
    let marked = false;
    for (const name of names) {
      if (!this.subscribes(name)) continue;
      this.#dirty.add(name);
      marked = true;
    }
    if (!marked) return;
    this.#pendingSince ??= now;
    this.requireAnswer();
  }

  /** Some names, or all, are due. */
  hasDirty(): boolean {
    return this.#dirty.size > 0 || this.#dirtyAll;
  }

  /** Something is waiting to be sent. */
  hasPending(): boolean {
    return this.hasDirty() || this.#mustAnswer || this.#initialVersions !== undefined;
  }

  /**
   * Whether what the proxy reported on (re)connecting lacks something of `kind`: undefined when it
   * reported nothing (or that has been resolved), false when it holds exactly what would be sent.
   */
  initialLacks(kind: KindSnapshot): boolean | undefined {
    if (this.#initialVersion !== '') return this.#initialVersion !== kind.version;
    const initial = this.#initialVersions;
    if (!initial) return undefined;
    return !this.#lacking(kind, initial).next().done;
  }

  /**
   * Settles what the proxy reported on (re)connecting against the first snapshot it could be sent:
   * SotW, it has this version (nothing to send) or everything is due; delta, the names it lacks or
   * must drop are due. Does nothing after the first time.
   */
  resolveInitial(kind: KindSnapshot): void {
    if (this.#initialVersion !== '') {
      const has = this.#initialVersion === kind.version;
      this.#initialVersion = '';
      if (has) this.#alreadyHas(kind);
      else this.#dirtyAll = true;
    }
    const initial = this.#initialVersions;
    if (!initial) return;
    this.#initialVersions = undefined;
    for (const name of this.#lacking(kind, initial)) this.#dirty.add(name);
  }

  /** The names whose reported version differs from `kind`'s, and those reported that `kind` no longer has. */
  *#lacking(kind: KindSnapshot, initial: ReadonlyMap<string, string>): Generator<string> {
    for (const entry of this.subscribedEntries(kind)) if (initial.get(entry.name) !== entry.version) yield entry.name;
    for (const name of initial.keys()) if (!kind.entries.has(name)) yield name;
  }

  /** SotW: a proxy reconnected with the version that would be sent; it is taken as sent and acked. */
  #alreadyHas(kind: KindSnapshot): void {
    this.#answered = true;
    this.#versionSent = this.#versionAcked = kind.version;
    this.#ackedKind = this.#inFlightKind = kind;
    this.#ackedScope = this.#inFlightScope = { wildcard: this.#wildcard, names: this.#names };
    this.#ackedAt = Date.now();
    this.clearDirty();
    this.#mustAnswer = false;
  }

  /** Nothing is due after all (delta: the changed names are neither held nor removable). */
  clearDirty(): void {
    this.#dirty.clear();
    this.#dirtyAll = false;
  }

  /** Records a response written to the stream at `now` (ms, monotonic). */
  sent(nonce: string, version: string, kind: KindSnapshot, entries: readonly ResourceEntry[], now: number): void {
    this.#sentAt = now;
    this.#nonceSent = nonce;
    this.#versionSent = version;
    this.#inFlight = true;
    this.#answered = true;
    this.#inFlightKind = kind;
    this.#inFlightScope = { wildcard: this.#wildcard, names: this.#names };
    this.#inFlightEntries = entries;
    this.#inFlightSince = this.#pendingSince;
    this.#pendingSince = undefined;
    this.clearDirty();
    this.#mustAnswer = false;
  }

  /**
   * An ACK of the response in flight, `now` on the monotonic clock and `at` on the wall clock (Unix ms).
   * Returns the seconds from change to ACK, if a change caused it.
   */
  ack(now: number, at = Date.now()): number | undefined {
    this.#inFlight = false;
    this.#ackedAt = at;
    this.#nonceAcked = this.#nonceSent;
    this.#versionAcked = this.#versionSent;
    this.#ackedKind = this.#inFlightKind;
    this.#ackedScope = this.#inFlightScope;
    this.#lastError = undefined;
    this.#inFlightEntries = [];
    const since = this.#inFlightSince;
    this.#inFlightSince = undefined;
    return since === undefined ? undefined : (now - since) / 1000;
  }

  /**
   * A NACK of the response in flight: remembered with the resources it held that the proxy had not
   * acked before (the suspects); the rejected version is not sent again until it changes.
   */
  nack(error: { readonly code: number; readonly message: string }, at: number): NackRecord {
    const rejected = this.#inFlightEntries
      .filter((e) => this.ackedVersion(e.name) !== e.version)
      .map((e) => ({ kind: e.kind, name: e.name, version: e.version, sources: e.sources }));
    const record: NackRecord = { message: error.message, code: error.code, rejectedVersion: this.#versionSent, nonce: this.#nonceSent, at, rejected };
    this.#inFlight = false;
    this.#lastError = record;
    this.#inFlightSince = undefined;
    this.#inFlightEntries = [];
    return record;
  }

  /** Its status, listing at most `namesListed` subscribed names. */
  status(namesListed = SUBSCRIBED_LISTED): TypeStatus {
    return {
      kind: this.kind,
      typeUrl: this.typeUrl,
      state: this.syncState(),
      versionSent: this.#versionSent,
      versionAcked: this.#versionAcked,
      nonceSent: this.#nonceSent,
      nonceAcked: this.#nonceAcked,
      wildcard: this.#wildcard,
      subscribedCount: this.#names.size,
      subscribed: firstSorted(this.#names, namesListed),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /**
   * Since when (ms, monotonic) a STALE type has waited: the change its response in flight carries (or that
   * response's writing), else its oldest change not yet sent; undefined when it is not STALE, or waits only
   * on a subscription change (answered at once).
   */
  staleSince(): number | undefined {
    if (this.syncState() !== 'STALE') return undefined;
    const inFlight = this.#inFlight ? (this.#inFlightSince ?? this.#sentAt) : undefined;
    if (inFlight === undefined) return this.#pendingSince;
    return this.#pendingSince === undefined ? inFlight : Math.min(inFlight, this.#pendingSince);
  }

  syncState(): SyncState {
    if (!this.#answered) return 'NOT SENT';
    if (this.#lastError && !this.#inFlight && this.#nonceAcked !== this.#nonceSent) return 'ERROR';
    if (this.#inFlight || this.hasPending()) return 'STALE';
    return 'SYNCED';
  }
}
