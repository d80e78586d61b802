/**
 * `trellis proxy-status [PROXY]`: every connected proxy's sync state per type, from Trellis's client
 * status service (CSDS) on its plaintext xDS port — the per-resource view Envoy's own tools read —
 * as an istioctl-like table, or JSON/YAML. Exit 1 when any proxy shown is not SYNCED, or PROXY is
 * not connected, so scripts and CI can wait on it.
 */
import type { OutputFormat } from '../config/debug-client.js';
import { kindOfTypeUrl, SHORT_NAME } from '../envoy/types.js';
import { SYNC_STATES, worstState, type SyncState } from '../xds/status.js';
import { CONFIG_STATUS } from '../debug/csds.js';
import type { ClientStatus, GenericXdsConfig, XdsEndpoint } from './csds-client.js';
import { fetchClientStatus } from './csds-client.js';
import { oneLine } from '../debug/text.js';
import { documentText, NONE, table } from './print.js';
import type { CommandIO } from './offline.js';

/** The columns' order, istioctl's (CDS, LDS, EDS, RDS), then SDS. */
const TYPES = ['CDS', 'LDS', 'EDS', 'RDS', 'SDS'] as const;
type TypeName = (typeof TYPES)[number];

/** A type's state, or `-` when the proxy asked for none of it. */
export type TypeCell = SyncState | typeof NONE;

export interface TypeDetail {
  readonly type: TypeName;
  readonly state: TypeCell;
  /** Resources by client status: ACKED, NACKED, REQUESTED, DOES_NOT_EXIST. */
  readonly resources: Readonly<Record<string, number>>;
  /** When the proxy last ACKed this type (ISO 8601), or null. */
  readonly lastAck: string | null;
  /** The proxy's last NACK of this type, if its last answer was one. */
  readonly error?: { readonly message: string; readonly version: string };
}

export interface ProxyStatusEntry {
  readonly name: string;
  readonly cluster: string;
  /** The worst of its types' states (ERROR, STALE, NOT SENT); SYNCED when all are, or it asked for nothing. */
  readonly state: SyncState;
  readonly types: Readonly<Record<TypeName, TypeCell>>;
  readonly lastAck: string | null;
  readonly details: readonly TypeDetail[];
}

/** A sync state by its ClientConfigStatus name (NOT_SENT is NOT SENT). */
const STATES: ReadonlyMap<string, SyncState> = new Map(SYNC_STATES.map((s) => [CONFIG_STATUS[s], s]));

function typeName(typeUrl: string): TypeName | undefined {
  const kind = kindOfTypeUrl(typeUrl);
  return kind === undefined ? undefined : (SHORT_NAME[kind] as TypeName);
}

function isoTime(t: GenericXdsConfig['last_updated']): string | null {
  if (t?.seconds === undefined) return null;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

function latest(times: readonly (string | null)[]): string | null {
  return times.reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
}

function typeDetail(type: TypeName, configs: readonly GenericXdsConfig[]): TypeDetail {
  const resources: Record<string, number> = {};
  for (const c of configs) resources[c.client_status ?? 'UNKNOWN'] = (resources[c.client_status ?? 'UNKNOWN'] ?? 0) + 1;
  const states = configs.map((c) => STATES.get(c.config_status ?? '') ?? 'STALE');
  const failed = configs.find((c) => c.error_state?.details !== undefined)?.error_state;
  return {
    type,
    state: states.length === 0 ? NONE : worstState(states.map((state) => ({ state }))),
    resources,
    lastAck: latest(configs.map((c) => isoTime(c.last_updated))),
    ...(failed?.details === undefined ? {} : { error: { message: failed.details, version: failed.version_info ?? '' } }),
  };
}

/** One entry per ClientConfig (a connected stream), in the service's order (node id). */
function proxyStatusEntries(status: ClientStatus): ProxyStatusEntry[] {
  return (status.config ?? []).map((c) => {
    const configs = c.generic_xds_configs ?? [];
    const details = TYPES.map((t) =>
      typeDetail(
        t,
        configs.filter((g) => typeName(g.type_url) === t),
      ),
    ).filter((d) => d.state !== NONE);
    const types = Object.fromEntries(TYPES.map((t) => [t, details.find((d) => d.type === t)?.state ?? NONE])) as Record<TypeName, TypeCell>;
    const known = details.flatMap((d) => (d.state === NONE ? [] : [{ state: d.state }]));
    return {
      name: c.node?.id ?? '',
      cluster: c.node?.cluster ?? '',
      state: worstState(known),
      types,
      lastAck: latest(details.map((d) => d.lastAck)),
      details,
    };
  });
}

function statusTable(entries: readonly ProxyStatusEntry[]): string {
  const rows = entries.map((e) => [e.name, e.cluster, ...TYPES.map((t) => e.types[t]), e.lastAck ?? NONE]);
  return table(['NAME', 'CLUSTER', ...TYPES, 'LAST ACK'], rows);
}

const COUNTED = ['ACKED', 'NACKED', 'REQUESTED', 'DOES_NOT_EXIST'] as const;

/** One proxy: its row, then a line per type with its resources by status and its NACK. */
function detailTable(entry: ProxyStatusEntry): string {
  const rows = entry.details.map((d) => [
    d.type,
    d.state,
    ...COUNTED.map((s) => String(d.resources[s] ?? 0)),
    d.lastAck ?? NONE,
    d.error ? oneLine(d.error.message) : '',
  ]);
  return `${statusTable([entry])}\n${table(['TYPE', 'STATE', ...COUNTED, 'LAST ACK', 'NACK'], rows)}`;
}

export interface ProxyStatusOptions {
  readonly xds: XdsEndpoint;
  readonly proxy?: string;
  readonly output: OutputFormat;
}

/** 0 when every proxy shown is SYNCED; 1 when one is not, or PROXY is not connected. */
export async function runProxyStatus(options: ProxyStatusOptions, io: CommandIO): Promise<number> {
  const entries = proxyStatusEntries(await fetchClientStatus(options.xds, options.proxy));
  if (options.proxy !== undefined && entries.length === 0) {
    io.err(`proxy ${JSON.stringify(options.proxy)} is not connected to Trellis at ${options.xds.label}; run trellis proxy-status for the connected proxies\n`);
    return 1;
  }
  if (options.output !== 'table') io.out(documentText({ proxies: entries.map(({ details, ...e }) => ({ ...e, types: details })) }, options.output));
  else if (entries.length === 0) io.out('no proxies connected\n');
  else if (options.proxy !== undefined && entries.length === 1 && entries[0]) io.out(detailTable(entries[0]));
  else io.out(statusTable(entries));
  return entries.every((e) => e.state === 'SYNCED') ? 0 : 1;
}
