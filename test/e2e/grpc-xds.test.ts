/**
 * The independent implementation: a @grpc/grpc-js-xds client, in its own process, takes its
 * configuration from Trellis and its calls reach gRPC servers on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningTrellis } from '../../src/cli.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { apiListener, cluster, endpoints, route } from '../support/resources.ts';
import { startGreeter, startXdsClient, type Greeter, type XdsClientProcess } from '../support/xds-app.ts';

const TARGET = 'greeter.default.svc.cluster.local:50051';
const CLUSTER = 'outbound|50051||greeter.default.svc.cluster.local';

let dir: string;
let file: string;
let trellis: RunningTrellis;
let backends: Greeter[];
let client: XdsClientProcess;

/** Writes the resources file Trellis watches: the greeter service backed by the given ports. */
async function writeMesh(ports: number[]): Promise<void> {
  const doc = {
    listeners: [apiListener(TARGET).message],
    routes: [route(TARGET, CLUSTER).message],
    clusters: [cluster(CLUSTER).message],
    endpoints: [endpoints(CLUSTER, ports).message],
  };
  await writeFile(file, stringify(doc));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-e2e-'));
  file = join(dir, 'resources.yaml');
  backends = [await startGreeter('alpha'), await startGreeter('beta')];
  await writeMesh([backends[0]?.port ?? 0]);
  const config = loadServeConfig(
    { resources: file, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' },
    {},
  );
  trellis = await serve(config, pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' }));
  client = await startXdsClient({ xdsServer: `127.0.0.1:${trellis.xdsPort}`, nodeId: 'e2e-client', target: `xds:///${TARGET}` });
});

afterAll(async () => {
  await client?.close();
  await trellis?.close();
  await Promise.all(backends.map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('a grpc-js-xds client configured by Trellis', () => {
  it('reaches the greeter through the listener, route, cluster and endpoints Trellis serves', async () => {
    expect(await client.callUntilOk(20_000)).toBe('alpha:hello');
    const tally = await client.callMany(10);
    expect(tally).toEqual({ ok: { 'alpha:hello': 10 }, errors: {} });
  });

  it('follows an endpoint change in the watched file, spreading calls over both backends', async () => {
    await writeMesh(backends.map((b) => b.port));
    // Each call is the event we wait on: call until the new backend has answered once.
    let seenBeta = false;
    for (let i = 0; i < 500 && !seenBeta; i++) seenBeta = (await client.call()) === 'beta:hello';
    expect(seenBeta).toBe(true);
    const tally = await client.callMany(20);
    expect(tally.errors).toEqual({});
    expect(tally.ok['alpha:hello']).toBeGreaterThan(0);
    expect(tally.ok['beta:hello']).toBeGreaterThan(0);
  });

  it('shows the client as synced in /debug/syncz, with its configuration in the config dump', async () => {
    const syncz = (await (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/syncz`)).json()) as {
      proxies: { proxyId: string; types: { type: string; state: string }[] }[];
    };
    const proxy = syncz.proxies.find((p) => p.proxyId === 'e2e-client');
    expect(proxy?.types.map((x) => [x.type, x.state])).toEqual([
      ['CDS', 'SYNCED'],
      ['EDS', 'SYNCED'],
      ['LDS', 'SYNCED'],
      ['RDS', 'SYNCED'],
    ]);
    const dump = (await (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/config_dump?proxy=e2e-client`)).json()) as {
      configs: { '@type': string; dynamic_active_clusters?: { cluster: { name: string } }[] }[];
    };
    const clusters = dump.configs.find((c) => c['@type'].endsWith('ClustersConfigDump'));
    expect(clusters?.dynamic_active_clusters?.map((c) => c.cluster.name)).toEqual([CLUSTER]);
  });
});
