/**
 * What state-of-the-world and delta ADS streams share: the node, the per-type state, ordering,
 * flow control and reporting. The subclasses decide how requests change the state and how a
 * response is built.
 */
import { randomBytes } from 'node:crypto';
import { formatRef, type ObjectRef } from '../diagnostics.js';
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { NodeInfo } from '../envoy/node.js';
import { kindOfTypeUrl, PUSH_ORDER, SHORT_NAME, type ResourceKind } from '../envoy/types.js';
import type { KindSnapshot, Snapshot, SnapshotChange } from './cache.js';
import type { NameSets } from './name-sets.js';
import type { ResourceEntry } from './resource.js';
import { SUBSCRIBED_LISTED, worstState, type ProxyStatus, type SyncState, type XdsObserver } from './status.js';
import { TypeState } from './type-state.js';
import { NoncedResponse } from './wire.js';
import type { Authorize, PeerIdentity } from './peer.js';

export interface StreamContext {
  readonly logger: Logger;
  readonly observer: XdsObserver;
  /** The snapshot a stream is served from (its class's, with its peer's Secrets), or undefined while the sources have not synced. */
  snapshotFor(stream: AdsStream): Snapshot | undefined;
  /** Secure streams: why the node may not be served to the authenticated peer (PERMISSION_DENIED). */
  readonly authorize?: Authorize;
  /** The node's proxy class; undefined for a node whose class cannot be told (refused). */
  classify(node: NodeInfo): string | undefined;
  /** Called once the stream knows its node (first request). */
  identified(stream: AdsStream): void;
  /** The stream answered (ACK or NACK) the response in flight for `kind`. */
  answered?(stream: AdsStream, kind: ResourceKind): void;
  closed(stream: AdsStream): void;
  now(): number;
  /**
   * Encoded bytes (without a nonce) by content key, kept across events (ResponseBodies): every
   * stream that is sent the same content shares one encoding.
   */
  shared(key: string, version: string, encode: () => Buffer): Buffer;
  readonly limits: StreamLimits;
  /** Interned subscription sets. */
  readonly nameSets: NameSets;
  /** Names subscribed to by every stream together (counted per stream, shared sets or not). */
  readonly subscribed: { total: number };
  /** Logs a warning unless one for the same reason was logged lately (every one is still counted by the caller). */
  warnLimited(reason: string, log: Logger, fields: Record<string, unknown>, message: string): void;
}

export interface StreamLimits {
  /** Most names one stream may subscribe to per type. */
  readonly maxNamesPerType: number;
  /** Most names one stream may subscribe to, all types together. */
  readonly maxNamesPerStream: number;
  /** Most names all streams together may subscribe to. */
  readonly maxNamesServer: number;
  /** Longest node.id accepted, in characters. */
  readonly maxNodeIdLength: number;
  /** Largest node.metadata accepted, as JSON characters. */
  readonly maxNodeMetadataBytes: number;
}

/** At most this many characters of a node.id go into a log line. */
const LOGGED_ID_LENGTH = 128;

/** A node.id short enough for a log line. */
export function loggedId(id: string): string {
  return id.length <= LOGGED_ID_LENGTH ? id : `${id.slice(0, LOGGED_ID_LENGTH)}…(${id.length})`;
}

/** What one response carries. */
export interface Selection {
  readonly entries: readonly ResourceEntry[];
  /** Delta only: names the proxy must drop. */
  readonly removed: readonly string[];
  /** The entries are the whole kind (a wildcard full set): a cheap key for sharing the bytes. Entries are in name order. */
  readonly whole: boolean;
}

export class StreamError extends Error {
  constructor(
    readonly code: Status,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

type Call = ServerDuplexStream<unknown, NoncedResponse>;

export abstract class AdsStream {
  abstract readonly protocol: 'sotw' | 'delta';
  node: NodeInfo | undefined;
  proxyClass = '';
  /** Who opened the stream, on the secure port (authenticated before its first request is read); none on the plaintext port. */
  peer: PeerIdentity | undefined;
  readonly types = new Map<ResourceKind, TypeState>();
  readonly connectedAt = Date.now();
  protected log: Logger;
  /** Whether debug lines are wanted, read once: pino's isLevelEnabled is too slow for every push. */
  private readonly debugLog: boolean;
  private blocked = false;
  private ended = false;
  /**
   * Nonces are this stream's random prefix and a counter: unique within the stream and
   * unpredictable from outside it, so a client cannot ACK a response it never received.
   */
  private readonly noncePrefix = randomBytes(12).toString('base64url');
  private responses = 0;

  constructor(
    readonly id: number,
    protected readonly call: Call,
    protected readonly ctx: StreamContext,
  ) {
    this.log = ctx.logger.child({ stream: id, peer: call.getPeer() });
    this.debugLog = this.log.isLevelEnabled('debug');
    call.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  private nextNonce(): string {
    this.responses++;
    return `${this.noncePrefix}.${this.responses}`;
  }

  get proxyId(): string {
    return this.node?.id ?? '';
  }

  /** Handles one decoded request; protocol errors end the stream with a clear status. */
  protected identify(node: NodeInfo | undefined): void {
    if (this.node) return;
    if (!node || node.id === '') {
      throw new StreamError(Status.INVALID_ARGUMENT, 'the first request of a stream must carry node.id', 'no_node');
    }
    const { maxNodeIdLength, maxNodeMetadataBytes } = this.ctx.limits;
    if (node.id.length > maxNodeIdLength) {
      throw new StreamError(Status.INVALID_ARGUMENT, `node.id is longer than ${maxNodeIdLength} characters`, 'node_too_large');
    }
    if (JSON.stringify(node.metadata).length > maxNodeMetadataBytes) {
      throw new StreamError(Status.INVALID_ARGUMENT, `node.metadata is larger than ${maxNodeMetadataBytes} bytes`, 'node_too_large');
    }
    const proxyClass = this.ctx.classify(node);
    if (proxyClass === undefined) {
      throw new StreamError(Status.INVALID_ARGUMENT, 'the node names no proxy class Trellis can serve (a "/" or "@" in POD_NAME or NAMESPACE?)', 'bad_node');
    }
    const denied = this.peer && this.ctx.authorize?.(this.peer, node);
    if (denied) {
      throw new StreamError(
        Status.PERMISSION_DENIED,
        `${this.peer?.identity ?? ''} may not receive the configuration of node ${loggedId(node.id)}: ${denied}`,
        'permission_denied',
      );
    }
    this.node = node;
    this.proxyClass = proxyClass;
    this.log = this.log.child({ proxy: loggedId(node.id), class: loggedId(proxyClass) });
    this.log.info({ protocol: this.protocol, userAgent: node.userAgent, peer: this.peer?.identity ?? 'unauthenticated' }, 'proxy connected');
    this.ctx.identified(this);
  }

  protected typeState(typeUrl: string): TypeState | undefined {
    if (typeUrl === '') throw new StreamError(Status.INVALID_ARGUMENT, 'request without type_url', 'no_type_url');
    const kind = kindOfTypeUrl(typeUrl);
    if (!kind) {
      this.ctx.observer.rejected('unknown_type');
      this.ctx.warnLimited('unknown_type', this.log, { typeUrl: typeUrl.slice(0, 200) }, 'request for a type Trellis does not serve; ignored');
      return undefined;
    }
    let ts = this.types.get(kind);
    if (!ts) {
      ts = new TypeState(kind, typeUrl);
      this.types.set(kind, ts);
    }
    return ts;
  }

  /**
   * The cache's own copy of a resource name when it has one: thousands of streams subscribed to
   * the same names then share one string each instead of holding a decoded copy per stream.
   */
  protected canonicalName(ts: TypeState, name: string): string {
    return this.canonical(ts)(name);
  }

  /** canonicalName for many names: the snapshot is looked up once. */
  protected canonical(ts: TypeState): (name: string) => string {
    const entries = this.ctx.snapshotFor(this)?.[ts.kind].entries;
    return entries ? (name) => entries.get(name)?.name ?? name : (name) => name;
  }

  /** Replaces a type's subscribed names with the shared set holding exactly `names`. */
  protected setNames(ts: TypeState, names: ReadonlySet<string>, key?: string): void {
    const next = key === undefined ? this.ctx.nameSets.acquire(names) : this.ctx.nameSets.acquire(names, key);
    const previous = ts.replaceNames(next);
    this.ctx.subscribed.total += next.size - previous.size;
    this.ctx.nameSets.release(previous);
  }

  /** Refuses a subscription that would hold more names than a type, this stream or the server may. */
  protected checkNames(total: number, ts: TypeState): void {
    const { maxNamesPerType, maxNamesPerStream, maxNamesServer } = this.ctx.limits;
    if (total > maxNamesPerType) {
      throw new StreamError(Status.RESOURCE_EXHAUSTED, `too many ${SHORT_NAME[ts.kind]} resource names (limit ${maxNamesPerType})`, 'too_many_names');
    }
    const growth = total - ts.names.size;
    if (growth <= 0) return;
    let stream = total;
    for (const other of this.types.values()) if (other !== ts) stream += other.names.size;
    if (stream > maxNamesPerStream) {
      throw new StreamError(Status.RESOURCE_EXHAUSTED, `too many resource names on one stream (limit ${maxNamesPerStream})`, 'too_many_names_stream');
    }
    if (this.ctx.subscribed.total + growth > maxNamesServer) {
      throw new StreamError(Status.RESOURCE_EXHAUSTED, `too many resource names on this server (limit ${maxNamesServer})`, 'too_many_names_server');
    }
  }

  /** The ACK or NACK of the response in flight for a type. */
  protected acknowledge(ts: TypeState, error: { code: number; message: string } | undefined): void {
    if (error) {
      const sources = sourcesOf(ts.inFlightEntries);
      const record = ts.nack(error, Date.now());
      this.ctx.observer.nacked(ts.kind, this.proxyId, error.message, record.rejected);
      this.log.warn({ type: SHORT_NAME[ts.kind], version: record.rejectedVersion, sources, error: error.message }, 'proxy rejected configuration (NACK)');
    } else {
      const seconds = ts.ack(this.ctx.now());
      this.ctx.observer.acked(ts.kind, seconds);
      if (this.debugLog) this.log.debug({ type: SHORT_NAME[ts.kind], version: ts.versionAcked }, 'ACK');
    }
    this.ctx.answered?.(this, ts.kind);
  }

  /** The cache changed for this stream's class: mark what this stream subscribes to, then push. */
  onChange(change: SnapshotChange): void {
    const now = this.ctx.now();
    for (const [kind, kc] of change.kinds) {
      const ts = this.types.get(kind);
      if (!ts || !ts.requested) continue;
      ts.markChanged(kc.updated, now);
      this.markRemoved(ts, kc.removed, now);
    }
    this.flush();
  }

  /** Marks the removed names this stream is to be told about. */
  protected abstract markRemoved(ts: TypeState, removed: Iterable<string>, now: number): void;

  /** Whether a type has something to send now, given the kind's snapshot. Decides only: writes nothing. */
  protected abstract needsSend(ts: TypeState, kind: KindSnapshot): boolean;

  /** What to send for a type now, or undefined when there is nothing after all. */
  protected abstract select(ts: TypeState, kind: KindSnapshot): Selection | undefined;

  protected abstract encode(ts: TypeState, kind: KindSnapshot, selection: Selection): Buffer;

  /** Sends what is pending, in push order; a kind waits while an earlier kind's newer version is held back. */
  flush(): void {
    if (this.ended || this.blocked || !this.node) return;
    const snapshot = this.ctx.snapshotFor(this);
    if (!snapshot) return;
    for (const kind of PUSH_ORDER) {
      const ts = this.types.get(kind);
      if (!ts || !ts.requested) continue;
      const due = this.needsSend(ts, snapshot[kind]);
      ts.resolveInitial(snapshot[kind]);
      if (!due) continue;
      if (ts.inFlight) break;
      this.send(ts, snapshot[kind]);
      if (this.blocked) return;
    }
  }

  private send(ts: TypeState, kind: KindSnapshot): void {
    const started = performance.now();
    const selection = this.select(ts, kind);
    if (!selection) return;
    const nonce = this.nextNonce();
    // Selections are in name order and of distinct names: as many as the kind holds is the whole kind
    // (every proxy subscribed to all of EDS by name shares the key of a wildcard one, without joining the names).
    const whole = selection.whole || selection.entries.length === kind.entries.size;
    const names = whole ? '*' : selection.entries.map((e) => e.name).join('\n');
    const key = `${this.protocol}|${ts.typeUrl}|${kind.version}|${names}|${selection.removed.join('\n')}`;
    const bytes = new NoncedResponse(
      this.ctx.shared(key, kind.version, () => this.encode(ts, kind, selection)),
      nonce,
    );
    ts.sent(nonce, kind.version, kind, selection.entries, this.ctx.now());
    const writable = this.call.write(bytes);
    this.ctx.observer.pushed(ts.kind, this.protocol, bytes.length, (performance.now() - started) / 1000);
    if (this.debugLog) {
      const count = selection.entries.length + selection.removed.length;
      this.log.debug({ type: SHORT_NAME[ts.kind], version: kind.version, nonce, resources: count, bytes: bytes.length }, 'push');
    }
    if (!writable) this.blocked = true;
  }

  /** Ends the stream with an error status (or OK when the client half-closed). */
  end(error?: StreamError): void {
    if (this.ended) return;
    this.ended = true;
    this.releaseNames();
    if (error) {
      this.ctx.observer.rejected(error.reason);
      this.log.warn({ code: error.code, reason: error.reason }, error.message);
      this.call.emit('error', { code: error.code, details: error.message });
    } else {
      this.call.end();
    }
    this.ctx.closed(this);
  }

  /** The client went away (cancel, reset, error). */
  gone(): void {
    if (this.ended) return;
    this.ended = true;
    this.releaseNames();
    this.log.info('proxy disconnected');
    this.ctx.closed(this);
  }

  private releaseNames(): void {
    for (const ts of this.types.values()) {
      this.ctx.subscribed.total -= ts.names.size;
      this.ctx.nameSets.release(ts.names);
    }
  }

  /** Its state (the worst of its types') and, when STALE, since when it waits (ms, monotonic); undefined before its first request. */
  sync(): { readonly state: SyncState; readonly staleSince: number | undefined } | undefined {
    if (!this.node) return undefined;
    let staleSince: number | undefined;
    const states: { state: SyncState }[] = [];
    for (const ts of this.types.values()) {
      states.push({ state: ts.syncState() });
      const since = ts.staleSince();
      if (since !== undefined && (staleSince === undefined || since < staleSince)) staleSince = since;
    }
    const state = worstState(states);
    return { state, staleSince: state === 'STALE' ? staleSince : undefined };
  }

  /** Its status, listing at most `namesListed` subscribed names per type; undefined before its first request. */
  status(namesListed = SUBSCRIBED_LISTED): ProxyStatus | undefined {
    if (!this.node) return undefined;
    return {
      streamId: this.id,
      proxyId: this.node.id,
      proxyClass: this.proxyClass,
      protocol: this.protocol,
      node: this.node,
      peer: this.call.getPeer(),
      ...(this.peer ? { authenticated: { identity: this.peer.identity, via: this.peer.via } } : {}),
      connectedAt: this.connectedAt,
      types: PUSH_ORDER.flatMap((k) => {
        const ts = this.types.get(k);
        return ts ? [ts.status(namesListed)] : [];
      }),
    };
  }
}

/** The distinct source objects of some entries (at most 20, for a log line). */
export function sourcesOf(entries: readonly { sources: readonly ObjectRef[] }[]): string[] {
  const out = new Set<string>();
  for (const e of entries) {
    for (const src of e.sources) {
      out.add(formatRef(src));
      if (out.size >= 20) return [...out];
    }
  }
  return [...out];
}
