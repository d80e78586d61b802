/**
 * The sync status of every connected proxy, per type: what was sent, what was acked, what was
 * rejected. `/debug/syncz` serves it as JSON (this module) or as a table (text.ts).
 */
import { compareText } from '../diagnostics.js';
import { SHORT_NAME, type ResourceKind } from '../envoy/types.js';
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

function toProxy(p: ProxyStatus): SynczProxy {
  const types = [...p.types]
    .sort((a, b) => typeRank(a.kind) - typeRank(b.kind) || compareText(a.typeUrl, b.typeUrl))
    .map((t): SynczType => ({ type: SHORT_NAME[t.kind], ...t }));
  return { ...p, authenticated: p.authenticated ?? false, state: worstState(types), types };
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

export function buildSyncz(statuses: readonly ProxyStatus[]): SynczResponse {
  const proxies = [...statuses].sort((a, b) => compareText(a.proxyId, b.proxyId) || a.streamId - b.streamId).map(toProxy);
  return { summary: summarize(proxies), proxies };
}
