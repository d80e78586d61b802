/**
 * Progress per source object, from real ADS streams: which proxies hold the current version of
 * what a TrafficPolicy produced, and which rejected it (a NACK traced back to its policy).
 */
import { describe, expect, it } from 'vitest';
import { CDS, RDS } from '../support/resources.ts';
import { POLICY, policyRouteServer } from './policy-route.ts';

const fx = policyRouteServer();
const { publish, sotw, delta } = fx;

const progress = () => fx.t.server.sourceProgress('TrafficPolicy').get(POLICY);

describe('progress of a source object', () => {
  it('counts the proxies subscribed to its resources, and those that acked the current version', async () => {
    publish(1);
    const a = await sotw('a');
    const b = await sotw('b');
    const other = await sotw('only-clusters');
    for (const c of [a, b]) c.subscribe(RDS, ['r1']);
    other.subscribe(CDS);
    const [ra, rb] = [await a.next(RDS), await b.next(RDS)];
    await other.next(CDS);
    expect(progress()).toEqual({ proxies: 2, acked: 0, rejected: [] });
    a.ack(ra);
    await fx.t.next('acked');
    expect(progress()).toEqual({ proxies: 2, acked: 1, rejected: [] });
    b.ack(rb);
    await fx.t.next('acked');
    expect(progress()).toEqual({ proxies: 2, acked: 2, rejected: [] });
    // While a change is still to be built for their class (a build in turns), they have acked nothing of it yet.
    expect(fx.t.server.sourceProgress('TrafficPolicy', () => true).get(POLICY)).toEqual({ proxies: 2, acked: 0, rejected: [] });
    expect(fx.t.server.sourceProgress('TrafficPolicy', () => false).get(POLICY)).toEqual({ proxies: 2, acked: 2, rejected: [] });

    // A new version of the policy's resource: acked by nobody until the proxies ACK it again.
    publish(2);
    const ra2 = await a.next(RDS);
    expect(progress()).toMatchObject({ proxies: 2, acked: 0 });
    a.ack(ra2);
    await fx.t.next('acked');
    expect(progress()).toMatchObject({ acked: 1 });
  });

  it('ties a NACK to the policy whose resource the proxy rejected, with the proxy’s message', async () => {
    publish(1);
    const a = await sotw('a');
    a.subscribe(RDS, ['r1']);
    a.nack(await a.next(RDS), 'r1: unknown cluster specifier');
    await fx.t.next('nacked');
    expect(progress()).toEqual({ proxies: 1, acked: 0, rejected: [{ proxyId: 'a', message: 'r1: unknown cluster specifier' }] });
    // A NACK of a resource the policy did not produce does not count against it.
    expect(fx.t.server.sourceProgress('Service').get('Service shop/web')).toMatchObject({ rejected: [{ proxyId: 'a' }] });
    const c = await sotw('c');
    c.subscribe(CDS);
    c.nack(await c.next(CDS), 'cluster a: bad');
    await fx.t.next('nacked');
    expect(progress()?.rejected.map((r) => r.proxyId)).toEqual(['a']);
    // Fixed: the new version is acked, and the rejection is forgotten.
    publish(3);
    a.ack(await a.next(RDS));
    await fx.t.next('acked');
    expect(progress()).toEqual({ proxies: 1, acked: 1, rejected: [] });
  });

  it('works the same over delta streams', async () => {
    publish(1);
    const d = await delta('d');
    d.subscribe(RDS, ['r1']);
    const res = await d.next(RDS);
    expect(progress()).toEqual({ proxies: 1, acked: 0, rejected: [] });
    d.ack(res);
    await fx.t.next('acked');
    expect(progress()).toEqual({ proxies: 1, acked: 1, rejected: [] });
  });
});
