/**
 * Proxy metrics beyond the per-type counters: connected proxies by sync state and how long the longest-stale
 * one has waited (both read at scrape time, as /debug/syncz counts them), and NACKs by the TrafficPolicy
 * that produced a rejected resource.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { SHORT_NAME, type ResourceKind } from '../envoy/types.js';
import { SYNC_STATES, type RejectedResource, type SyncSummary } from '../xds/status.js';

export interface ProxyMetrics {
  /** Registers the callback read at each scrape for the proxies' states (replaces any earlier one). */
  collector(fn: () => SyncSummary): void;
  /** A NACK: counted once for each TrafficPolicy among the sources of the rejected resources. */
  nacked(kind: ResourceKind, rejected: readonly RejectedResource[]): void;
}

/** The TrafficPolicies (`namespace/name`) among the sources of some resources, each once. */
function policiesOf(rejected: readonly RejectedResource[]): string[] {
  const out = new Set<string>();
  for (const r of rejected) for (const src of r.sources) if (src.kind === 'TrafficPolicy') out.add(`${src.namespace ?? ''}/${src.name}`);
  return [...out].sort();
}

export function proxyMetrics(registry: Registry, prefix: string): ProxyMetrics {
  let read: (() => SyncSummary) | undefined;
  let summary: SyncSummary | undefined;
  /** One walk over the streams' states per scrape, by the first gauge; a failing callback leaves the last values. */
  const refresh = (): SyncSummary | undefined => {
    try {
      summary = read?.() ?? summary;
    } catch {
      // keep the last summary
    }
    return summary;
  };
  new Gauge({
    name: `${prefix}xds_proxies`,
    help: 'Connected proxies by sync state, as /debug/syncz counts them: SYNCED, NOT SENT, STALE (sent and not acked, or a change waiting), ERROR (last response NACKed).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = refresh();
      for (const state of SYNC_STATES) this.set({ state }, s?.proxies[state] ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}xds_oldest_stale_seconds`,
    help: 'Seconds the longest-stale connected proxy has waited for its configuration (a response not acked, or a change not sent); 0 when none is stale.',
    registers: [registry],
    // Registered after xds_proxies, so collected after it in the same scrape: the summary it just read.
    collect() {
      this.set(summary?.oldestStaleSeconds ?? 0);
    },
  });
  const policyNacks = new Counter({
    name: `${prefix}policy_nacks_total`,
    help: 'NACKs whose rejected resources a TrafficPolicy produced, by type and policy (namespace/name).',
    labelNames: ['type', 'policy'],
    registers: [registry],
  });
  return {
    collector(fn) {
      read = fn;
    },
    nacked(kind, rejected) {
      for (const policy of policiesOf(rejected)) policyNacks.inc({ type: SHORT_NAME[kind], policy });
    },
  };
}
