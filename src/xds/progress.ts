/**
 * Progress per source object: which connected proxies hold the current version of everything a
 * source object (a TrafficPolicy, say) produced, and which rejected it. This is what turns ACKs and
 * NACKs into a policy's Programmed condition ("acked by 12/12 proxies"), and what ties a proxy's
 * NACK back to the policy that caused it.
 */
import type { KindSnapshot, Snapshot } from './cache.js';
import type { ResourceEntry } from './resource.js';
import type { SourceProgress } from './status.js';
import type { AdsStream } from './stream.js';

interface Tally {
  proxies: number;
  acked: number;
  rejected: { proxyId: string; message: string }[];
}

/**
 * The entries of a kind snapshot produced by some source starting with `prefix`, worked out once per
 * snapshot (snapshots are immutable): a scan then visits those few entries per stream, not every
 * resource every proxy holds.
 */
const sourcedMemo = new WeakMap<KindSnapshot, Map<string, readonly ResourceEntry[]>>();

function sourced(kind: KindSnapshot, prefix: string): readonly ResourceEntry[] {
  let byPrefix = sourcedMemo.get(kind);
  if (!byPrefix) {
    byPrefix = new Map();
    sourcedMemo.set(kind, byPrefix);
  }
  let entries = byPrefix.get(prefix);
  if (!entries) {
    entries = [...kind.entries.values()].filter((e) => e.sources.some((s) => s.startsWith(prefix)));
    byPrefix.set(prefix, entries);
  }
  return entries;
}

/** Per source, this stream's verdict: every resource acked, one rejected (with why), or neither yet. */
function streamVerdicts(stream: AdsStream, snapshot: Snapshot, prefix: string): Map<string, { acked: boolean; rejected?: string }> {
  const verdicts = new Map<string, { acked: boolean; rejected?: string }>();
  for (const [kind, ts] of stream.types) {
    for (const entry of sourced(snapshot[kind], prefix)) {
      if (!ts.subscribes(entry.name)) continue;
      for (const source of entry.sources) {
        if (!source.startsWith(prefix)) continue;
        const v = verdicts.get(source) ?? { acked: true };
        if (ts.ackedVersion(entry.name) !== entry.version) v.acked = false;
        v.rejected ??= ts.rejection(entry);
        verdicts.set(source, v);
      }
    }
  }
  return verdicts;
}

export function sourceProgress(streams: Iterable<AdsStream>, snapshotFor: (proxyClass: string) => Snapshot | undefined, prefix: string): Map<string, SourceProgress> {
  const tallies = new Map<string, Tally>();
  for (const stream of streams) {
    if (!stream.node) continue;
    const snapshot = snapshotFor(stream.proxyClass);
    if (!snapshot) continue;
    for (const [source, v] of streamVerdicts(stream, snapshot, prefix)) {
      const t = tallies.get(source) ?? { proxies: 0, acked: 0, rejected: [] };
      t.proxies++;
      if (v.acked) t.acked++;
      if (v.rejected !== undefined) t.rejected.push({ proxyId: stream.node.id, message: v.rejected });
      tallies.set(source, t);
    }
  }
  for (const t of tallies.values()) t.rejected.sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : 0));
  return tallies;
}
