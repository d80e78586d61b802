/**
 * Progress per source object: which connected proxies hold the current version of everything a
 * source object (a TrafficPolicy, say) produced, and which rejected it. This is what turns ACKs and
 * NACKs into a policy's Programmed condition ("acked by 12/12 proxies"), and what ties a proxy's
 * NACK back to the policy that caused it.
 */
import { formatRef } from '../diagnostics.js';
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
 * The entries of a kind snapshot produced by some source object of kind `sourceKind`, worked out once per
 * snapshot (snapshots are immutable): a scan then visits those few entries per stream, not every
 * resource every proxy holds.
 */
const sourcedMemo = new WeakMap<KindSnapshot, Map<string, readonly ResourceEntry[]>>();

function sourced(kind: KindSnapshot, sourceKind: string): readonly ResourceEntry[] {
  let byKind = sourcedMemo.get(kind);
  if (!byKind) {
    byKind = new Map();
    sourcedMemo.set(kind, byKind);
  }
  let entries = byKind.get(sourceKind);
  if (!entries) {
    entries = [...kind.entries.values()].filter((e) => e.sources.some((s) => s.kind === sourceKind));
    byKind.set(sourceKind, entries);
  }
  return entries;
}

/** Per source, this stream's verdict: every resource acked, one rejected (with why), or neither yet. */
function streamVerdicts(stream: AdsStream, snapshot: Snapshot, sourceKind: string): Map<string, { acked: boolean; rejected?: string }> {
  const verdicts = new Map<string, { acked: boolean; rejected?: string }>();
  for (const [kind, ts] of stream.types) {
    for (const entry of sourced(snapshot[kind], sourceKind)) {
      if (!ts.subscribes(entry.name)) continue;
      for (const ref of entry.sources) {
        if (ref.kind !== sourceKind) continue;
        const source = formatRef(ref);
        const v = verdicts.get(source) ?? { acked: true };
        if (ts.ackedVersion(entry.name) !== entry.version) v.acked = false;
        v.rejected ??= ts.rejection(entry);
        verdicts.set(source, v);
      }
    }
  }
  return verdicts;
}

/**
 * Per source object of kind `sourceKind` (by its formatted reference, `TrafficPolicy shop/web`), the
 * proxies' progress. A proxy of a class `pending` says is about to get a new snapshot (a change not
 * yet built for it) has acked nothing yet, whatever it holds.
 */
export function sourceProgress(
  streams: Iterable<AdsStream>,
  snapshotFor: (proxyClass: string) => Snapshot | undefined,
  sourceKind: string,
  pending: (proxyClass: string) => boolean = () => false,
): Map<string, SourceProgress> {
  const tallies = new Map<string, Tally>();
  for (const stream of streams) {
    if (!stream.node) continue;
    const snapshot = snapshotFor(stream.proxyClass);
    if (!snapshot) continue;
    const behind = pending(stream.proxyClass);
    for (const [source, v] of streamVerdicts(stream, snapshot, sourceKind)) {
      const t = tallies.get(source) ?? { proxies: 0, acked: 0, rejected: [] };
      t.proxies++;
      if (v.acked && !behind) t.acked++;
      if (v.rejected !== undefined) t.rejected.push({ proxyId: stream.node.id, message: v.rejected });
      tallies.set(source, t);
    }
  }
  for (const t of tallies.values()) t.rejected.sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : 0));
  return tallies;
}
