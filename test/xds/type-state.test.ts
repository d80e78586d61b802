/**
 * The per-stream, per-type state (src/xds/type-state.ts): private state behind methods, and a
 * decision whether to send (`needsSend`) that writes nothing — what a reconnecting proxy reported
 * is settled by the flush, not by asking.
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../src/envoy/node.ts';
import { SnapshotCache, type KindSnapshot } from '../../src/xds/cache.ts';
import { DeltaStream } from '../../src/xds/delta.ts';
import { NameSets } from '../../src/xds/name-sets.ts';
import { SotwStream } from '../../src/xds/sotw.ts';
import { NO_OBSERVER } from '../../src/xds/status.ts';
import type { AdsStream, StreamContext } from '../../src/xds/stream.ts';
import { TypeState } from '../../src/xds/type-state.ts';
import { CDS, cluster } from '../support/resources.ts';

type Call = ConstructorParameters<typeof SotwStream>[1];

/** The part of a grpc-js server call a stream uses: what it writes is kept. */
class FakeCall extends EventEmitter {
  readonly written: Buffer[] = [];
  getPeer(): string {
    return 'test:1';
  }
  write(bytes: Buffer): boolean {
    this.written.push(bytes);
    return true;
  }
  end(): void {}
}

/** Streams whose decision can be asked for directly. */
class SotwProbe extends SotwStream {
  decide(kind: KindSnapshot): boolean {
    return this.needsSend(this.types.get('cluster')!, kind);
  }
}
class DeltaProbe extends DeltaStream {
  decide(kind: KindSnapshot): boolean {
    return this.needsSend(this.types.get('cluster')!, kind);
  }
}

const NODE: NodeInfo = { id: 'p1', cluster: 'c', metadata: {}, userAgent: 'test' };

/** Clusters a and b in one snapshot, hidden from the streams (sources not synced) until `sync()`. */
function harness() {
  const cache = new SnapshotCache();
  cache.set('default', { cluster: [cluster('a'), cluster('b')] });
  let synced = false;
  const ctx: StreamContext = {
    logger: pino({ level: 'silent' }),
    observer: NO_OBSERVER,
    snapshotFor: () => (synced ? cache.get('default') : undefined),
    classify: () => 'default',
    identified: () => undefined,
    closed: () => undefined,
    now: () => 0,
    shared: (_key, _version, encode) => encode(),
    limits: { maxNamesPerType: 100, maxNamesPerStream: 1000, maxNamesServer: 10_000, maxNodeIdLength: 1024, maxNodeMetadataBytes: 16384 },
    subscribed: { total: 0 },
    warnLimited: () => undefined,
    nameSets: new NameSets(),
  };
  const call = new FakeCall();
  return {
    ctx,
    call,
    asCall: call as unknown as Call,
    clusters: (): KindSnapshot => cache.get('default')!.cluster,
    sync: () => {
      synced = true;
    },
  };
}

/** Everything about a stream's CDS state that can be seen from outside. */
function observe(stream: AdsStream) {
  const ts = stream.types.get('cluster')!;
  return { status: stream.status(), dirty: [...ts.dirty], dirtyAll: ts.dirtyAll, mustAnswer: ts.mustAnswer, pending: ts.hasPending() };
}

/** Asks a stream twice whether to send its clusters: the same answer, and nothing observable changed. */
function decideTwice(stream: SotwProbe | DeltaProbe, clusters: KindSnapshot): boolean {
  const before = observe(stream);
  const first = stream.decide(clusters);
  expect(stream.decide(clusters)).toBe(first);
  expect(observe(stream)).toEqual(before);
  return first;
}

describe('deciding whether to send writes nothing', () => {
  it.each([
    { has: 'the version it would be sent', current: true, due: false, sent: [], state: 'SYNCED' },
    { has: 'another version', current: false, due: true, sent: ['a', 'b'], state: 'STALE' },
  ])('SotW, a proxy reconnecting with $has: the same answer twice, unchanged; the flush settles it', ({ current, due, sent, state }) => {
    const h = harness();
    const s = new SotwProbe(1, h.asCall, h.ctx);
    const version = current ? h.clusters().version : 'old';
    s.handle({ node: NODE, version_info: version, namesDigest: '', names: () => [], type_url: CDS, response_nonce: '' });
    h.sync();
    expect(s.status()?.types[0]?.state).toBe('NOT SENT');
    expect(decideTwice(s, h.clusters())).toBe(due);

    s.flush();
    expect(h.call.written).toHaveLength(sent.length > 0 ? 1 : 0);
    expect(s.types.get('cluster')?.inFlightEntries.map((e) => e.name)).toEqual(sent);
    expect(s.status()?.types[0]).toMatchObject({ state, versionSent: h.clusters().version });
  });

  it.each([
    { has: 'a at the current version, b at an old one', stale: ['b'], due: true },
    { has: 'both at the current version', stale: [], due: false },
  ])('delta, a proxy reconnecting with $has: the same answer twice, unchanged; the flush sends what it lacks', ({ stale, due }) => {
    const h = harness();
    const s = new DeltaProbe(1, h.asCall, h.ctx);
    const initial = Object.fromEntries([...h.clusters().entries.values()].map((e) => [e.name, stale.includes(e.name) ? 'old' : e.version]));
    s.handle({
      node: NODE,
      type_url: CDS,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: initial,
      response_nonce: '',
    });
    h.sync();
    expect(decideTwice(s, h.clusters())).toBe(due);

    s.flush();
    expect(h.call.written).toHaveLength(due ? 1 : 0);
    expect(s.types.get('cluster')?.inFlightEntries.map((e) => e.name)).toEqual(stale);
  });
});

describe('the state is private', () => {
  it('has no own properties but its kind and type URL, and its accessors cannot be assigned', () => {
    const ts = new TypeState('cluster', CDS);
    expect(Object.keys(ts).sort()).toEqual(['kind', 'typeUrl']);
    expect(() => {
      // @ts-expect-error changed only by the protocol events (sent, ack, nack)
      ts.nonceSent = '7';
    }).toThrow(TypeError);
    expect(() => {
      // @ts-expect-error changed only by the protocol events
      ts.inFlight = true;
    }).toThrow(TypeError);
    expect(() => {
      // @ts-expect-error changed only by setWildcard
      ts.wildcard = true;
    }).toThrow(TypeError);
    expect(ts.status()).toMatchObject({ state: 'NOT SENT', nonceSent: '', wildcard: false });
  });

  it('offers no way to write its pending state but its methods (checked by the typecheck)', () => {
    const writes = (ts: TypeState): void => {
      // @ts-expect-error the due names are read-only from outside
      // eslint-disable-next-line @typescript-eslint/no-unsafe-call -- the call is the type error this test expects
      ts.dirty.add('a');
      // @ts-expect-error set only by resolveInitial, sent and clearDirty
      ts.dirtyAll = true;
      // @ts-expect-error no such public field: when a change started waiting is private
      ts.pendingSince = 0;
    };
    expect(writes).toBeTypeOf('function');
  });
});

describe('subscribed entries', () => {
  const cache = new SnapshotCache();
  cache.set('default', { cluster: [cluster('b'), cluster('a'), cluster('c')] });
  const kind = (): KindSnapshot => cache.get('default')!.cluster;

  it('are every entry in name order, one frozen array shared by a wildcard and a stream naming them all', () => {
    const wildcard = new TypeState('cluster', CDS);
    wildcard.setWildcard(true);
    const named = new TypeState('cluster', CDS);
    named.replaceNames(new Set(['c', 'a', 'b']));
    const all = wildcard.subscribedEntries(kind());
    expect(all.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(Object.isFrozen(all)).toBe(true);
    expect(named.subscribedEntries(kind())).toBe(all);
  });

  it('are their own array for a stream naming some', () => {
    const some = new TypeState('cluster', CDS);
    some.replaceNames(new Set(['c', 'a', 'x']));
    expect(some.subscribedEntries(kind()).map((e) => e.name)).toEqual(['a', 'c']);
  });
});
