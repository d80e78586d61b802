/**
 * The server's summary of its proxies for /metrics, from real ADS streams: each proxy in the worst state of its
 * types (as /debug/syncz counts them), the longest a STALE one has waited, and NACKs traced to their policy.
 */
import { describe, expect, it } from 'vitest';
import { buildSyncz } from '../../src/debug/syncz.ts';
import { ref } from '../support/diagnostics.ts';
import { pollFor } from '../support/poll.ts';
import { CDS, RDS } from '../support/resources.ts';
import { POLICY, policyRouteServer } from './policy-route.ts';

const fx = policyRouteServer();
const { publish, sotw, delta } = fx;

const summary = () => fx.t.server.syncSummary();

describe('syncSummary', () => {
  it('counts each proxy in its worst state, as /debug/syncz does', async () => {
    // Asked before the sources synced: NOT SENT.
    const early = await sotw('early');
    early.subscribe(CDS);
    await pollFor(
      'the early proxy to be known',
      async () => summary().proxies['NOT SENT'],
      (n) => n === 1,
    );
    expect(summary()).toEqual({ proxies: { SYNCED: 0, 'NOT SENT': 1, STALE: 0, ERROR: 0 }, oldestStaleSeconds: 0 });

    publish(1);
    const synced = await sotw('synced');
    const stale = await sotw('stale');
    const rejecting = await sotw('rejecting');
    for (const c of [synced, stale, rejecting]) c.subscribe(CDS);
    synced.ack(await synced.next(CDS));
    await fx.t.next('acked');
    rejecting.subscribe(RDS, ['r1']);
    rejecting.ack(await rejecting.next(CDS));
    await fx.t.next('acked');
    rejecting.nack(await rejecting.next(RDS), 'r1: bad');
    const [, , , rejected] = await fx.t.next('nacked');
    await stale.next(CDS);
    // `early` got its CDS when the cache became ready, and has not acked it either.
    await early.next(CDS);

    const s = summary();
    expect(s.proxies).toEqual({ SYNCED: 1, 'NOT SENT': 0, STALE: 2, ERROR: 1 });
    expect(buildSyncz(fx.t.server.proxies()).summary).toEqual({ proxies: 4, synced: 1, notSent: 0, stale: 2, errors: 1 });
    // The NACK's suspects name the policy that produced the rejected route.
    expect(rejected).toEqual([expect.objectContaining({ kind: 'route', name: 'r1', sources: expect.arrayContaining([ref(POLICY)]) })]);
    expect(s.oldestStaleSeconds).toBeGreaterThan(0);
  });

  it('measures the longest-stale proxy from the response it has not acked, and forgets it once acked', async () => {
    publish(1);
    const slow = await sotw('slow');
    slow.subscribe(CDS);
    const res = await slow.next(CDS);
    const first = summary().oldestStaleSeconds;
    expect(first).toBeGreaterThan(0);
    // Time passes (a whole other proxy's round trip): the wait grows.
    const other = await sotw('other');
    other.subscribe(CDS);
    other.ack(await other.next(CDS));
    await fx.t.next('acked');
    const later = summary();
    expect(later.oldestStaleSeconds).toBeGreaterThan(first);
    expect(later.proxies).toMatchObject({ SYNCED: 1, STALE: 1 });
    slow.ack(res);
    await fx.t.next('acked');
    expect(summary()).toEqual({ proxies: { SYNCED: 2, 'NOT SENT': 0, STALE: 0, ERROR: 0 }, oldestStaleSeconds: 0 });
  });

  it('counts delta streams the same way', async () => {
    publish(1);
    const d = await delta('d');
    d.subscribe(RDS, ['r1']);
    const res = await d.next(RDS);
    expect(summary().proxies.STALE).toBe(1);
    d.ack(res);
    await fx.t.next('acked');
    expect(summary().proxies).toEqual({ SYNCED: 1, 'NOT SENT': 0, STALE: 0, ERROR: 0 });
  });
});
