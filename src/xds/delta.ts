/**
 * Incremental ADS (DeltaAggregatedResources): only what changed is sent, removals are named in
 * removed_resources, and a reconnecting proxy's initial_resource_versions are honoured so that
 * nothing it already has is sent again. Subscription changes count even in a request whose nonce is
 * stale; only the ACK/NACK meaning of a nonce needs it to be the current one.
 */
import type { KindSnapshot } from './cache.js';
import type { ResourceEntry } from './resource.js';
import { AdsStream, type Selection } from './stream.js';
import type { TypeState } from './type-state.js';
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
      ts.requested = true;
      ts.legacyWildcard = req.resource_names_subscribe.length === 0;
      if (ts.legacyWildcard) ts.wildcard = true;
      const initial = Object.entries(req.initial_resource_versions);
      if (initial.length > 0) ts.initialVersions = new Map(initial);
      else if (ts.wildcard) ts.dirtyAll = true;
      ts.pendingSince ??= now;
    }
    const subscribe = req.resource_names_subscribe;
    this.checkNames(ts.names.size + subscribe.length, ts);
    const unsubscribe = req.resource_names_unsubscribe;
    if (subscribe.length === 0 && unsubscribe.length === 0) return; // an ACK: the subscription stands
    const names = new Set(ts.names);
    for (const name of subscribe) {
      if (name === '*') {
        // With initial versions, resolveInitial works out what the proxy lacks.
        if (!ts.wildcard && !ts.initialVersions) ts.dirtyAll = true;
        ts.wildcard = true;
        continue;
      }
      if (names.has(name)) continue;
      names.add(this.canonicalName(ts, name));
      if (!ts.initialVersions?.has(name)) ts.dirty.add(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') ts.wildcard = false;
      else names.delete(name);
      ts.dirty.delete(name);
    }
    if (names.size !== ts.names.size || subscribe.length > 0) this.setNames(ts, names);
    if (ts.dirty.size > 0 || ts.dirtyAll) ts.pendingSince ??= now;
  }

  protected markRemoved(ts: TypeState, removed: ReadonlySet<string>, now: number): boolean {
    return ts.markChanged(removed, now);
  }

  /** Resolves the versions a reconnecting proxy reported into the names it lacks or must drop. */
  private resolveInitial(ts: TypeState, kind: KindSnapshot): void {
    const initial = ts.initialVersions;
    if (!initial) return;
    ts.initialVersions = undefined;
    for (const entry of ts.subscribedEntries(kind)) {
      if (initial.get(entry.name) !== entry.version) ts.dirty.add(entry.name);
    }
    for (const name of initial.keys()) if (!kind.entries.has(name)) ts.dirty.add(name);
  }

  private pending(ts: TypeState, kind: KindSnapshot): { updated: ResourceEntry[]; removed: string[] } {
    this.resolveInitial(ts, kind);
    let names: ReadonlySet<string> = ts.dirty;
    if (ts.dirtyAll) {
      const all = new Set(ts.dirty);
      for (const e of ts.subscribedEntries(kind)) all.add(e.name);
      names = all;
    }
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
    this.resolveInitial(ts, kind);
    if (ts.dirtyAll) return true;
    return ts.dirty.size > 0;
  }

  protected select(ts: TypeState, kind: KindSnapshot): Selection | undefined {
    const { updated, removed } = this.pending(ts, kind);
    if (updated.length > 0 || removed.length > 0) return { entries: updated, removed, whole: false };
    ts.dirty.clear();
    ts.dirtyAll = false;
    return undefined;
  }

  protected encode(ts: TypeState, kind: KindSnapshot, selection: Selection, nonce: string): Buffer {
    return encodeDeltaResponse({
      system_version_info: kind.version,
      resources: selection.entries.map((e) => e.delta),
      type_url: ts.typeUrl,
      nonce,
      removed_resources: selection.removed,
    });
  }
}
