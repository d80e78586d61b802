/**
 * TrafficPolicy routing and load balancing on real traffic: proxyless grpc-js-xds clients call
 * xDS-enabled grpc-js servers on loopback through the configuration Trellis serves from a manifests
 * directory, and the numbers are checked. Servers answer `<name>:hello`, so each call says where it
 * landed.
 *
 *   weighted split    80/20 across two Services, and across two pod-label subsets of one Service
 *   header routing    a header match sends calls to one Service, the other calls take the next route
 *   ring hash         every call with the same x-user header lands on one endpoint
 *   status            each policy Programmed, acked by the one client that receives it
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { binomialBounds, startPolicyMesh, type PolicyClient, type PolicyMesh } from './policy-mesh.ts';

let mesh: PolicyMesh;

beforeAll(async () => {
  mesh = await startPolicyMesh(['alpha', 'beta', 'gamma']);
  await mesh.service('split', [{ server: 'gamma' }]);
  await mesh.service('split-a', [{ server: 'alpha' }]);
  await mesh.service('split-b', [{ server: 'beta' }]);
  await mesh.service('canary', [
    { server: 'alpha', labels: { app: 'canary', version: 'v1' } },
    { server: 'beta', labels: { app: 'canary', version: 'v2' } },
  ]);
  await mesh.service('headers', [{ server: 'alpha' }]);
  await mesh.service('headers-canary', [{ server: 'beta' }]);
  await mesh.service('headers-stable', [{ server: 'gamma' }]);
  await mesh.service('sticky', [{ server: 'alpha' }, { server: 'beta' }, { server: 'gamma' }]);
}, 60_000);

afterAll(async () => {
  await mesh?.close();
});

beforeEach(async () => {
  await mesh.resetServers();
});

describe('TrafficPolicy routing on real gRPC traffic', () => {
  it.each([
    {
      across: 'two Services',
      service: 'split',
      backends: [
        { service: 'split-a', weight: 80 },
        { service: 'split-b', weight: 20 },
      ],
    },
    {
      across: 'two pod-label subsets of the Service',
      service: 'canary',
      backends: [
        { subset: { labels: { version: 'v1' } }, weight: 80 },
        { subset: { labels: { version: 'v2' } }, weight: 20 },
      ],
    },
  ])(
    'splits calls 80/20 across $across, within statistical bounds',
    async ({ service, backends }) => {
      const client = await mesh.client(service);
      await mesh.applyPolicy(client, `${service}-split`, { routing: { http: [{ name: 'split', backends }] } });
      const n = 1000;
      const report = await client.load({ count: n, concurrency: 20, timeLimitMs: 30_000 });
      // 1000 calls, p = 0.8: sd = √(1000·0.8·0.2) ≈ 12.6; alpha must get 800 ± 5 sd, i.e. [737, 863].
      const bounds = binomialBounds(n, 0.8);
      const held = await mesh.explain(client);
      expect(report.byCode, held).toEqual({ OK: n });
      expect(Object.keys(report.okByServer).sort(), held).toEqual(['alpha', 'beta']);
      expect(report.okByServer.alpha, held).toBeGreaterThanOrEqual(bounds.low);
      expect(report.okByServer.alpha, held).toBeLessThanOrEqual(bounds.high);
    },
    60_000,
  );

  describe('with a header match', () => {
    let client: PolicyClient;
    beforeAll(async () => {
      client = await mesh.client('headers');
      await mesh.applyPolicy(client, 'headers-routing', {
        routing: {
          http: [
            { name: 'canary', matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], backends: [{ service: 'headers-canary' }] },
            { name: 'rest', backends: [{ service: 'headers-stable' }] },
          ],
        },
      });
    }, 60_000);

    it.each<{ header: Record<string, string>; lands: string; why: string }>([
      { header: { 'x-canary': 'true' }, lands: 'beta', why: 'the matching header goes to headers-canary' },
      { header: { 'x-canary': 'false' }, lands: 'gamma', why: 'another value of the header takes the next route, to headers-stable' },
      { header: {}, lands: 'gamma', why: 'no header takes the next route, to headers-stable' },
    ])('routes on the header: $why', async ({ header, lands }) => {
      // Deterministic: every one of the calls lands on the expected server.
      const report = await client.load({ count: 50, concurrency: 5, metadata: header, timeLimitMs: 20_000 });
      expect(report.okByServer, await mesh.explain(client)).toEqual({ [lands]: 50 });
    });
  });

  it('keeps every call with the same x-user header on one endpoint with ring hash', async () => {
    const client = await mesh.client('sticky');
    await mesh.applyPolicy(client, 'sticky-ring-hash', { loadBalancing: { algorithm: 'ringHash', hash: { header: { name: 'x-user' } } } });
    // 20 users, not a multiple of the 3 endpoints: round robin would put a user's calls on every one.
    const users = 20;
    const report = await client.load({ count: users * 15, concurrency: 10, metadata: { 'x-user': `user-{i%${users}}` }, timeLimitMs: 30_000 });
    expect(report.byCode).toEqual({ OK: users * 15 });
    const landed = new Map<string, Set<string>>();
    for (const c of report.calls) {
      const user = `user-${c.i % users}`;
      landed.set(user, (landed.get(user) ?? new Set()).add(c.server ?? '?'));
    }
    // Stickiness is exact: each user's 15 calls on one server.
    const spread = [...landed].filter(([, servers]) => servers.size !== 1).map(([user, servers]) => `${user}: ${[...servers].join(',')}`);
    expect(spread, await mesh.explain(client)).toEqual([]);
    // And the ring spreads users: all 20 on one of 3 equally weighted endpoints has probability 3·(1/3)^20 ≈ 9e-10.
    expect(new Set([...landed.values()].flatMap((s) => [...s])).size).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('reports each policy Programmed, acked by the proxies that receive it, on /debug/policies', async () => {
    // The tests above ran first: each client has acked its policy's configuration (applyPolicy
    // waited for that), and each policy's resources reach only the one client of its Service.
    const text = await (await fetch(`http://127.0.0.1:${mesh.trellis.debugPort}/debug/policies?format=text`)).text();
    const ns = mesh.namespace;
    expect(text).toContain(`TrafficPolicy ${ns}/sticky-ring-hash: Accepted=True (Accepted): attached to Service ${ns}/sticky:50051`);
    expect(text).toContain(`TrafficPolicy ${ns}/sticky-ring-hash: Programmed=True (Programmed): acked by 1/1 proxy`);
    expect(text).toContain(`TrafficPolicy ${ns}/headers-routing: Programmed=True (Programmed): acked by 1/1 proxy`);
  });
});
