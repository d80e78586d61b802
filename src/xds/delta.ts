/**
 * Incremental ADS (DeltaAggregatedResources): only what changed is sent, removals are named in
 * removed_resources, and a reconnecting proxy's initial_resource_versions are honoured so that
 * nothing it already has is sent again. Subscription changes count even in a request whose nonce is
 * stale; only the ACK/NACK meaning of a nonce needs it to be the current one.
 */
import type { KindSnapshot } from './cache.js';
import type { ResourceEntry } from './resource.js';
import { AdsStream, type Selection } from './stream.js';
import { allEntries, type TypeState } from './type-state.js';
import { encodeDeltaResponse, type DeltaRequest } from './wire.js';

export class DeltaStream extends AdsStream {
  readonly protocol = 'delta' as const;

  handle(req: DeltaRequest): void {
    this.identify(req.node);
    const ts = this.typeState(req.type_url);
    if (!ts) return;
    if (req.response_nonce !== '' && req.response_nonce === ts.nonceSent && ts.inFlight) {
      this.acknowledge(ts, req.error_detail);
    }
    this.subscribe(ts, req);
    this.flush();
  }

  private subscribe(ts: TypeState, req: DeltaRequest): void {
    const now = this.ctx.now();
    if (!ts.requested) {
      ts.firstRequest(req.resource_names_subscribe.length === 0);
      const initial = Object.entries(req.initial_resource_versions);
      if (initial.length > 0) ts.reportVersions(new Map(initial));
      // With initial versions, resolveInitial works out what the proxy lacks.
      if (ts.legacyWildcard) ts.setWildcard(true);
      ts.pendingFrom(now);
    }
    const subscribe = req.resource_names_subscribe;
    this.checkNames(ts.names.size + subscribe.length, ts);
    const unsubscribe = req.resource_names_unsubscribe;
    if (subscribe.length === 0 && unsubscribe.length === 0) return; // an ACK: the subscription stands
    const names = new Set(ts.names);
    const added: string[] = [];
    const canonical = subscribe.length > 0 ? this.canonical(ts) : undefined;
    for (const name of subscribe) {
      if (name === '*') {
        ts.setWildcard(true);
        continue;
      }
      if (names.has(name) || !canonical) continue;
      names.add(canonical(name));
      added.push(name);
    }
    ts.added(added);
    for (const name of unsubscribe) {
      if (name === '*') ts.setWildcard(false);
      else names.delete(name);
      ts.dropped(name);
    }
    if (names.size !== ts.names.size || subscribe.length > 0) this.setNames(ts, names);
    if (ts.hasDirty()) ts.pendingFrom(now);
  }

  protected markRemoved(ts: TypeState, removed: Iterable<string>, now: number): void {
    ts.markChanged(removed, now);
  }

  /** The due names (all subscribed ones too, when all are due): those the kind holds, and those it no longer does. */
  private pending(ts: TypeState, kind: KindSnapshot): { updated: readonly ResourceEntry[]; removed: string[] } {
    let names: ReadonlySet<string> = ts.dirty;
    if (ts.dirtyAll) {
      const all = new Set(ts.dirty);
      for (const e of ts.subscribedEntries(kind)) all.add(e.name);
      names = all;
    }
    // Every name of the kind (a proxy's first response): the kind's entries, already in name order.
    if (names.size === kind.entries.size && everyHeld(names, kind)) return { updated: allEntries(kind), removed: [] };
    const updated: ResourceEntry[] = [];
    const removed: string[] = [];
    // One changed name is the common case of a push: nothing to sort.
    for (const name of names.size === 1 ? names : [...names].sort()) {
      const entry = kind.entries.get(name);
      if (entry) updated.push(entry);
      else removed.push(name);
    }
    return { updated, removed };
  }

  protected needsSend(ts: TypeState, kind: KindSnapshot): boolean {
    return ts.hasDirty() || ts.initialLacks(kind) === true;
  }

  protected select(ts: TypeState, kind: KindSnapshot): Selection | undefined {
    const { updated, removed } = this.pending(ts, kind);
    if (updated.length > 0 || removed.length > 0) return { entries: updated, removed, whole: false };
    ts.clearDirty();
    return undefined;
  }

  protected encode(ts: TypeState, kind: KindSnapshot, selection: Selection): Buffer {
    return encodeDeltaResponse({
      system_version_info: kind.version,
      resources: selection.entries.map((e) => e.delta),
      type_url: ts.typeUrl,
      removed_resources: selection.removed,
    });
  }
}

function everyHeld(names: ReadonlySet<string>, kind: KindSnapshot): boolean {
  for (const name of names) if (!kind.entries.has(name)) return false;
  return true;
}
