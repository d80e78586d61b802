/**
 * State-of-the-world ADS (StreamAggregatedResources), as the xDS specification describes it:
 * a request with a stale nonce is ignored; a request with the current nonce is the ACK or NACK of
 * the last response and is answered only if something changed; Listener and Cluster responses
 * carry the whole subscribed set, the other kinds only what changed.
 */
import type { KindSnapshot } from './cache.js';
import { AdsStream, type Selection } from './stream.js';
import { isFullState, type TypeState } from './type-state.js';
import { encodeSotwResponse, type SotwRequest } from './wire.js';

export class SotwStream extends AdsStream {
  readonly protocol = 'sotw' as const;

  handle(req: SotwRequest): void {
    this.identify(req.node);
    const ts = this.typeState(req.type_url);
    if (!ts) return;
    if (req.response_nonce !== '') {
      if (req.response_nonce !== ts.nonceSent) {
        this.log.debug({ type: ts.typeUrl, nonce: req.response_nonce, current: ts.nonceSent }, 'stale nonce; request ignored');
        return;
      }
      if (ts.inFlight) this.acknowledge(ts, req.error_detail);
    }
    this.subscribe(ts, req);
    this.flush();
  }

  private subscribe(ts: TypeState, req: SotwRequest): void {
    // An ACK repeats the names of the request before it: recognised by their digest, not decoded.
    if (ts.repeats(req.namesDigest)) return;
    ts.rememberDigest(req.namesDigest);
    // Another stream sent these very names already: share its set without decoding them again.
    const key = `sotw:${req.namesDigest}`;
    const known = req.namesDigest === '' ? undefined : this.ctx.nameSets.peek(key);
    const all = known ? [...known] : req.names();
    const names = known ? all : all.filter((n) => n !== '*');
    const star = names.length !== all.length;
    if (!ts.requested) {
      ts.firstRequest(all.length === 0);
      if (req.response_nonce === '' && req.version_info !== '') ts.reportVersion(req.version_info);
    } else if (names.length > 0 || star) {
      ts.endLegacyWildcard();
    }
    const wildcard = star || (ts.legacyWildcard && names.length === 0);
    const incoming = known ?? new Set(names);
    const added: string[] = [];
    for (const n of incoming) if (!ts.names.has(n)) added.push(n);
    this.checkNames(incoming.size, ts);
    ts.setWildcard(wildcard);
    // Nothing added and the same size means the same set.
    const changed = added.length > 0 || ts.names.size !== incoming.size;
    if (changed) {
      // Only sets without '*' are shared by their bytes' digest: a known set never holds one.
      if (known) this.setNames(ts, known, key);
      else if (star) this.setNames(ts, new Set(names.map(this.canonical(ts))));
      else this.setNames(ts, new Set(names.map(this.canonical(ts))), key);
    }
    if (added.length > 0) {
      ts.added(added);
      ts.pendingFrom(this.ctx.now());
    }
    if (changed || ts.dirtyAll) ts.requireAnswer();
  }

  protected markRemoved(ts: TypeState, removed: Iterable<string>, now: number): void {
    // Only full-state kinds express removal (by omission); the others just stop mentioning a name.
    if (isFullState(ts.kind)) ts.markChanged(removed, now);
  }

  protected needsSend(ts: TypeState, kind: KindSnapshot): boolean {
    // A proxy that reconnects with the version we would send already has it all; with another, it needs it all.
    const lacks = ts.initialLacks(kind);
    if (lacks !== undefined) return lacks;
    if (!ts.answered || ts.dirtyAll || ts.mustAnswer) return true;
    for (const name of ts.dirty) if (kind.entries.has(name)) return true;
    return false;
  }

  protected select(ts: TypeState, kind: KindSnapshot): Selection {
    if (isFullState(ts.kind) || ts.dirtyAll || !ts.answered) {
      return { entries: ts.subscribedEntries(kind), removed: [], whole: ts.wildcard };
    }
    const entries = [...ts.dirty].sort().flatMap((n) => {
      const e = kind.entries.get(n);
      return e ? [e] : [];
    });
    return { entries, removed: [], whole: false };
  }

  protected encode(ts: TypeState, kind: KindSnapshot, selection: Selection): Buffer {
    return encodeSotwResponse({
      version_info: kind.version,
      resources: selection.entries.map((e) => e.any),
      type_url: ts.typeUrl,
    });
  }
}
