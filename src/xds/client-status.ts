/**
 * What one stream's proxy holds and is owed, resource by resource, read from the per-type protocol
 * state the stream keeps anyway (what it acked, the last NACK and its suspects, what it subscribes to)
 * and the snapshot it is served from. Nothing is recorded for this view: it is computed when asked.
 */
import { compareText } from '../diagnostics.js';
import { PUSH_ORDER } from '../envoy/types.js';
import type { KindSnapshot, Snapshot } from './cache.js';
import type { ClientResource, ClientResources, ClientTypeResources } from './status.js';
import type { AdsStream } from './stream.js';
import type { TypeState } from './type-state.js';

/** The names a type's status lists: those subscribed to by name, and under a wildcard every name served or held. */
function listedNames(ts: TypeState, kind: KindSnapshot | undefined): string[] {
  const names = new Set(ts.names);
  if (ts.wildcard) {
    for (const name of kind?.entries.keys() ?? []) names.add(name);
    for (const entry of ts.ackedEntries()) names.add(entry.name);
  }
  return [...names].sort(compareText);
}

/** One resource: NACKED if the last NACK rejected it, else ACKED if held, else REQUESTED, or DOES_NOT_EXIST if not served. */
function resourceStatus(ts: TypeState, kind: KindSnapshot | undefined, name: string): ClientResource {
  const held = ts.ackedEntry(name);
  const holding = held ? { version: held.version, any: held.any, ...(ts.ackedAt === undefined ? {} : { lastUpdated: ts.ackedAt }) } : { version: '' };
  const nack = ts.lastError;
  const rejected = nack?.rejected.find((r) => r.name === name);
  if (nack && rejected) {
    const current = kind?.entries.get(name);
    const any = current?.version === rejected.version ? current.any : undefined;
    return {
      name,
      status: 'NACKED',
      ...holding,
      rejection: { message: nack.message, version: rejected.version, at: nack.at, ...(any ? { any } : {}) },
    };
  }
  if (held) return { name, status: 'ACKED', ...holding };
  // Before the sources have synced nothing is known to be missing: the name waits like any other.
  const exists = kind === undefined || kind.entries.has(name);
  return { name, status: exists ? 'REQUESTED' : 'DOES_NOT_EXIST', version: '' };
}

/** The stream's status resource by resource, given the snapshot it is served from (undefined before the sources synced). */
export function clientResourcesOf(stream: AdsStream, snapshot: Snapshot | undefined): ClientResources | undefined {
  const node = stream.node;
  if (!node) return undefined;
  const types = PUSH_ORDER.flatMap((k): ClientTypeResources[] => {
    const ts = stream.types.get(k);
    if (!ts || !ts.requested) return [];
    const kind = snapshot?.[k];
    const resources = listedNames(ts, kind).map((name) => resourceStatus(ts, kind, name));
    return [{ kind: k, typeUrl: ts.typeUrl, state: ts.status(0).state, resources }];
  });
  const peer = stream.peer;
  return { streamId: stream.id, node, ...(peer ? { authenticated: { identity: peer.identity, via: peer.via } } : {}), types };
}
