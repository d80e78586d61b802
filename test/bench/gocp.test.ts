/**
 * The bench's go-control-plane peer (gocp.ts around gocp-ads) as run.ts drives it, with a real ADS client:
 * it starts, serves the names and shapes the bench's clients subscribe to, answers a change by changing svc0,
 * and reports its CPU and RSS. A small K, so that it is quick; the binary from $TRELLIS_GO_CONTROL_PLANE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SotwClient, type SotwResponse } from '../support/ads-client.ts';
import { Child } from './children.ts';
import { CDS, CHANGED_INDEX, EDS, claMessage, clusterName, clusterNames, type BenchParams, type ServerCommand, type ServerEvent } from './config.ts';
import { gocpBinary, type GocpCache } from './gocp-peer.ts';

const K = 3;
const E = 2;
const params: BenchParams = { clients: 1, clusters: K, endpoints: E, changes: 1, warmup: 0, streamsPerChannel: 1 };

let server: Child<ServerCommand, ServerEvent> | undefined;
let client: SotwClient | undefined;
afterEach(async () => {
  client?.close();
  await server?.stop({ cmd: 'exit' });
  server = client = undefined;
});

function addresses(res: SotwResponse, name: string): string[] {
  const cla = res.resources.find((r) => r.name === name)?.body as
    { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[] } | undefined;
  return (cla?.endpoints ?? []).flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address));
}

describe('the go-control-plane peer of npm run bench', () => {
  it.each<[GocpCache, string, string[]]>([
    ['linear', 'svc0 alone', [clusterName(CHANGED_INDEX)]],
    ['snapshot', 'all K assignments', clusterNames(K)],
  ])('with its %s cache serves the bench names, and a change gives svc0 new endpoints (a SotW push carries %s)', async (cache, _what, changeSends) => {
    server = new Child(`gocp-${cache}`, 'gocp.ts', { TRELLIS_BENCH_PARAMS: JSON.stringify(params), TRELLIS_BENCH_GOCP_CACHE: cache });
    const listening = await server.next('listening');
    expect(listening.external).toBe(true);
    const c = await SotwClient.connect(`127.0.0.1:${listening.port}`, { node: { id: 'bench-proxy-0' } });
    client = c;

    c.subscribe(CDS);
    const cds = await c.next(CDS, 15_000);
    expect(cds.resources.map((r) => r.name).sort()).toEqual(clusterNames(K).sort());
    expect(cds.resources[0]?.body).toMatchObject({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
    c.ack(cds);
    c.subscribe(EDS, clusterNames(K));
    const eds = await c.next(EDS, 15_000);
    expect(eds.resources.map((r) => r.name).sort()).toEqual(clusterNames(K).sort());
    // The endpoint shape the bench's other servers send (config.ts follows gocp-ads).
    const svc0 = eds.resources.find((r) => r.name === clusterName(CHANGED_INDEX));
    expect(svc0?.body).toMatchObject({ endpoints: [{ locality: claMessage(CHANGED_INDEX, E, 0).endpoints?.[0]?.locality }] });
    const before = addresses(eds, clusterName(CHANGED_INDEX));
    expect(before).toHaveLength(E);
    c.ack(eds);

    server.send({ cmd: 'change', change: 0, index: CHANGED_INDEX, version: 1, acks: 1 });
    const pushed = await c.next(EDS, 15_000);
    expect(pushed.resources.map((r) => r.name).sort()).toEqual([...changeSends].sort());
    const after = addresses(pushed, clusterName(CHANGED_INDEX));
    expect(after).toHaveLength(E);
    expect(after).not.toEqual(before);
    c.ack(pushed);

    server.send({ cmd: 'settle', change: 0 });
    const changed = await server.next('changed');
    expect(changed.change).toBe(0);
    expect(changed.cpu).toBeGreaterThanOrEqual(0);
    expect(changed.setMs).toBeGreaterThan(0);
    expect(changed.lastAckAt).toBeNaN();
    server.send({ cmd: 'memory' });
    expect((await server.next('memory')).rss).toBeGreaterThan(1024 * 1024);
    server.send({ cmd: 'cpu' });
    expect((await server.next('cpu')).seconds).toBeGreaterThanOrEqual(changed.cpu);
  });

  it('refuses a change of another cluster than svc0, which gocp-ads cannot make', async () => {
    server = new Child('gocp-linear', 'gocp.ts', { TRELLIS_BENCH_PARAMS: JSON.stringify(params), TRELLIS_BENCH_GOCP_CACHE: 'linear' });
    await server.next('listening');
    server.send({ cmd: 'change', change: 0, index: 1, version: 1, acks: 1 });
    server.send({ cmd: 'settle', change: 0 });
    await expect(server.next('changed')).rejects.toThrow(/changes only cluster 0 \(svc0\), not 1/);
  });

  it('names the directory to set when the binary is missing', () => {
    expect(() => gocpBinary({ TRELLIS_GO_CONTROL_PLANE: '/nonexistent/gocp' })).toThrow(
      'go-control-plane: no executable /nonexistent/gocp/gocp-ads. Set TRELLIS_GO_CONTROL_PLANE',
    );
  });
});
