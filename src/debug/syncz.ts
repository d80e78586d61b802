/**
 * The sync status of every connected proxy, per type: what was sent, what was acked, what was
 * rejected. `/debug/syncz` serves it as JSON (this module) or as a table (text.ts).
 */
import { compareText } from '../diagnostics.js';
import { SHORT_NAME, type ResourceKind } from '../envoy/types.js';
import type { MeshModel } from '../model/types.js';
import { parseProxyClass } from '../translate/proxy.js';
import { sidecarReach } from '../translate/sidecar.js';
import { worstState, type ProxyStatus, type SyncState, type TypeStatus } from '../xds/status.js';

/** CDS, EDS, LDS, RDS, SDS: the order of Envoy's config dump (and of the short names). */
const TYPE_ORDER: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];

export interface SynczType extends TypeStatus {
  /** The short name: CDS, EDS, LDS, RDS or SDS. */
  readonly type: string;
}

export interface SynczProxy extends Omit<ProxyStatus, 'types' | 'authenticated'> {
  /** Who opened the stream (the secure port), or false: a stream of the plaintext port, which receives no Secrets. */
  readonly authenticated: NonNullable<ProxyStatus['authenticated']> | false;
  /** The worst state among its types (ERROR, then STALE, then NOT SENT); SYNCED when all are. */
  readonly state: SyncState;
  /**
   * A sidecar scoped by its pod's `trellis.dev/reachable-services`: the Services it receives
   * (`namespace/name`, `namespace/*`; and what their routes send to). Absent: every Service.
   */
  readonly reach?: readonly string[];
  readonly types: readonly SynczType[];
}

export interface SynczSummary {
  readonly proxies: number;
  readonly synced: number;
  readonly stale: number;
  readonly notSent: number;
  readonly errors: number;
}

export interface SynczResponse {
  readonly summary: SynczSummary;
  /** Sorted by proxy id, then stream id. */
  readonly proxies: readonly SynczProxy[];
}

function typeRank(kind: ResourceKind): number {
  const i = TYPE_ORDER.indexOf(kind);
  return i < 0 ? TYPE_ORDER.length : i;
}

/** What a proxy class reaches, when it is a scoped sidecar (undefined: every Service). */
export type ReachOf = (proxyClass: string) => readonly string[] | undefined;

/** The reach of a sidecar class's pod in `model`, as translation scopes it; undefined for every Service, another kind of proxy, or no model yet. */
export function reachOfClass(model: MeshModel | undefined, proxyClass: string): readonly string[] | undefined {
  const proxy = parseProxyClass(proxyClass);
  return model && proxy?.mode === 'sidecar' ? sidecarReach(model, proxy) : undefined;
}

function toProxy(p: ProxyStatus, reachOf: ReachOf | undefined): SynczProxy {
  const types = [...p.types]
    .sort((a, b) => typeRank(a.kind) - typeRank(b.kind) || compareText(a.typeUrl, b.typeUrl))
    .map((t): SynczType => ({ type: SHORT_NAME[t.kind], ...t }));
  const reach = reachOf?.(p.proxyClass);
  return { ...p, authenticated: p.authenticated ?? false, state: worstState(types), ...(reach ? { reach } : {}), types };
}

export function summarize(proxies: readonly SynczProxy[]): SynczSummary {
  const count = (state: SyncState) => proxies.filter((p) => p.state === state).length;
  return {
    proxies: proxies.length,
    synced: count('SYNCED'),
    stale: count('STALE'),
    notSent: count('NOT SENT'),
    errors: count('ERROR'),
  };
}

export function buildSyncz(statuses: readonly ProxyStatus[], reachOf?: ReachOf): SynczResponse {
  const proxies = [...statuses].sort((a, b) => compareText(a.proxyId, b.proxyId) || a.streamId - b.streamId).map((p) => toProxy(p, reachOf));
  return { summary: summarize(proxies), proxies };
}
