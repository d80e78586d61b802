/**
 * What the xDS server tells the rest of Trellis about its proxies: read-only views for the debug
 * endpoint, and an observer interface that metrics (and later the status writer) implement.
 * Nothing here depends on gRPC or protobuf.
 */
import type { ObjectRef } from '../diagnostics.js';
import type { NodeInfo } from '../envoy/node.js';
import type { ResourceKind } from '../envoy/types.js';

/**
 * SYNCED: the last response was acked and nothing newer is waiting.
 * STALE: a response is on its way and not yet acked, or a change is waiting to be sent.
 * NOT SENT: the proxy asked, nothing has been sent yet (e.g. sources not synced).
 * ERROR: the proxy rejected (NACKed) the last response; `lastError` says why.
 */
export type SyncState = 'SYNCED' | 'STALE' | 'NOT SENT' | 'ERROR';

/** The states from best to worst: a proxy is in the worst state of its types. */
export const SYNC_STATES: readonly SyncState[] = ['SYNCED', 'NOT SENT', 'STALE', 'ERROR'];

/** The worst state among some types (ERROR, then STALE, then NOT SENT); SYNCED when all are, or when there are none. */
export function worstState(types: Iterable<{ readonly state: SyncState }>): SyncState {
  let worst: SyncState = 'SYNCED';
  for (const t of types) if (SYNC_STATES.indexOf(t.state) > SYNC_STATES.indexOf(worst)) worst = t.state;
  return worst;
}

/** The connected proxies at one moment: how many are in each state, and how long the longest-stale one has waited. */
export interface SyncSummary {
  readonly proxies: Readonly<Record<SyncState, number>>;
  /**
   * Seconds since the oldest change or response a STALE proxy still waits on (a response sent and not
   * acked, or a change not yet sent); 0 when no proxy is stale.
   */
  readonly oldestStaleSeconds: number;
}

/** A resource a proxy rejected: a version it had not acked before, and what produced it. */
export interface RejectedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly version: string;
  readonly sources: readonly ObjectRef[];
}

export interface NackRecord {
  readonly message: string;
  readonly code: number;
  /** The version the proxy rejected. */
  readonly rejectedVersion: string;
  readonly nonce: string;
  /** Unix milliseconds. */
  readonly at: number;
  /** The resources of the rejected response that the proxy did not already hold (the suspects). */
  readonly rejected: readonly RejectedResource[];
}

export interface TypeStatus {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  readonly state: SyncState;
  readonly versionSent: string;
  readonly versionAcked: string;
  readonly nonceSent: string;
  readonly nonceAcked: string;
  readonly wildcard: boolean;
  /** How many names are subscribed to explicitly (0 for a pure wildcard subscription). */
  readonly subscribedCount: number;
  /**
   * The first names subscribed to explicitly, sorted: all of them, or the first
   * {@link SUBSCRIBED_LISTED} when there are more (a proxy may subscribe to 100 000; the debug view
   * summarises them rather than list them all, unless asked about that proxy alone).
   */
  readonly subscribed: readonly string[];
  readonly lastError?: NackRecord;
}

export interface ProxyStatus {
  readonly streamId: number;
  readonly proxyId: string;
  readonly proxyClass: string;
  readonly protocol: 'sotw' | 'delta';
  readonly node: NodeInfo;
  readonly peer: string;
  /** Who opened the stream, proven on the secure port; absent on the plaintext port (no Secrets there). */
  readonly authenticated?: { readonly identity: string; readonly via: 'token' | 'certificate' };
  /** Unix milliseconds. */
  readonly connectedAt: number;
  readonly types: readonly TypeStatus[];
}

/** One resource as a proxy has it (acked), decoded to JSON. */
export interface HeldResource {
  readonly name: string;
  readonly version: string;
  readonly resource: Record<string, unknown>;
  /** The source objects that produced it (a Service, the TrafficPolicies that shaped it). */
  readonly sources: readonly ObjectRef[];
}

export interface HeldResources {
  readonly kind: ResourceKind;
  readonly versionAcked: string;
  readonly resources: readonly HeldResource[];
  readonly lastError?: NackRecord;
}

/**
 * How far the configuration produced by one source object (`TrafficPolicy ns/name`) has got: the
 * connected proxies subscribed to at least one resource it produced, how many of them have acked
 * the current version of every such resource, and those that rejected one.
 */
export interface SourceProgress {
  readonly proxies: number;
  readonly acked: number;
  readonly rejected: readonly { readonly proxyId: string; readonly message: string }[];
}

/** The view of the server the debug endpoint reads. */
/** How many subscribed names a proxy's status lists per type, unless asked for all. */
export const SUBSCRIBED_LISTED = 100;

export interface ProxiesQuery {
  /** Only the streams of this node id. */
  readonly proxyId?: string;
  /** List at most this many subscribed names per type; default {@link SUBSCRIBED_LISTED}. */
  readonly namesListed?: number;
}

/** The `limit` smallest of `names`, sorted: O(n log limit), without sorting all of them. */
export function firstSorted(names: Iterable<string>, limit: number): string[] {
  const out: string[] = [];
  if (limit <= 0) return out;
  for (const name of names) {
    if (out.length >= limit && name >= (out[out.length - 1] as string)) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((out[mid] as string) < name) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, name);
    if (out.length > limit) out.pop();
  }
  return out;
}

export interface XdsIntrospection {
  /** Every connected stream's status (or those `query` asks for), sorted by node id, then stream id. */
  proxies(query?: ProxiesQuery): ProxyStatus[];
  /**
   * Progress of every source object of a kind (`TrafficPolicy`), by its formatted reference
   * (`TrafficPolicy shop/web`); the proxies of a class `pending` says is still to be built for a
   * change have acked nothing yet.
   */
  sourceProgress(sourceKind: string, pending?: (proxyClass: string) => boolean): Map<string, SourceProgress>;
  /** The resources one proxy (by node id) has acked, per type; undefined when it is not connected. */
  heldResources(proxyId: string): HeldResources[] | undefined;
}

/**
 * Where one resource stands with one proxy, as Envoy's client status (CSDS) names it: ACKED (it holds
 * the version it acked), NACKED (it rejected the last version sent), REQUESTED (subscribed, not yet
 * received and acked), DOES_NOT_EXIST (subscribed by a name this control plane does not have).
 */
export type ResourceClientStatus = 'ACKED' | 'NACKED' | 'REQUESTED' | 'DOES_NOT_EXIST';

/** The NACK of one resource: the proxy's message, the resource version it rejected, and when. */
export interface ResourceRejection {
  readonly message: string;
  readonly version: string;
  /** Unix milliseconds. */
  readonly at: number;
  /** The rejected resource as an encoded google.protobuf.Any, while the cache still holds that version. */
  readonly any?: Uint8Array;
}

export interface ClientResource {
  readonly name: string;
  readonly status: ResourceClientStatus;
  /** The version the proxy holds (acked); '' when it holds none. */
  readonly version: string;
  /** When the proxy last ACKed a response of this type while holding this version (Unix ms). */
  readonly lastUpdated?: number;
  /** The resource as the proxy holds it, an encoded google.protobuf.Any. */
  readonly any?: Uint8Array;
  readonly rejection?: ResourceRejection;
}

export interface ClientTypeResources {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  /** The type's sync state, as /debug/syncz shows it. */
  readonly state: SyncState;
  /** Sorted by name. */
  readonly resources: readonly ClientResource[];
}

/** One connected stream, resource by resource: what CSDS answers for it. */
export interface ClientResources {
  readonly streamId: number;
  readonly node: NodeInfo;
  /** Who opened the stream, on the secure port. */
  readonly authenticated?: { readonly identity: string; readonly via: 'token' | 'certificate' };
  /** In push order (SDS, CDS, EDS, LDS, RDS); only the types the proxy asked for. */
  readonly types: readonly ClientTypeResources[];
}

/** The per-resource view of the server that client status discovery (CSDS) reads. */
export interface XdsClientStatus {
  /** Every connected, identified stream whose node `select` accepts, sorted by node id, then stream id. */
  clientResources(select: (node: NodeInfo) => boolean): ClientResources[];
}

/** Events the server reports; metrics implement this. Every method must be cheap and must not throw. */
export interface XdsObserver {
  streamOpened(protocol: 'sotw' | 'delta'): void;
  streamClosed(protocol: 'sotw' | 'delta'): void;
  /** A response written to a stream: its size and how long building and writing it took. */
  pushed(kind: ResourceKind, protocol: 'sotw' | 'delta', bytes: number, seconds: number): void;
  /** An ACK; `convergenceSeconds` is the time from the change reaching the server to this ACK. */
  acked(kind: ResourceKind, convergenceSeconds: number | undefined): void;
  /** A NACK; `rejected` are the suspects: the resources of the rejected response the proxy had not acked before. */
  nacked(kind: ResourceKind, proxyId: string, message: string, rejected: readonly RejectedResource[]): void;
  /** A malformed or unacceptable request, by reason (`no_node`, `unknown_type`, ...). */
  rejected(reason: string): void;
}

export const NO_OBSERVER: XdsObserver = {
  streamOpened() {},
  streamClosed() {},
  pushed() {},
  acked() {},
  nacked() {},
  rejected() {},
};

/** Tells several observers of each event, in order. */
export function teeObservers(...observers: readonly XdsObserver[]): XdsObserver {
  return {
    streamOpened: (p) => observers.forEach((o) => o.streamOpened(p)),
    streamClosed: (p) => observers.forEach((o) => o.streamClosed(p)),
    pushed: (k, p, b, s) => observers.forEach((o) => o.pushed(k, p, b, s)),
    acked: (k, s) => observers.forEach((o) => o.acked(k, s)),
    nacked: (k, id, m, r) => observers.forEach((o) => o.nacked(k, id, m, r)),
    rejected: (r) => observers.forEach((o) => o.rejected(r)),
  };
}
