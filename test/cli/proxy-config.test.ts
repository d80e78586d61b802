/**
 * `trellis proxy-config TYPE PROXY` as a process against a real `trellis serve` on the example mesh:
 * each type's table for a sidecar that ACKed everything, JSON and YAML, a NACK, a proxy not connected,
 * bad arguments and an unreachable debug endpoint.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trellis } from '../support/cli.ts';
import { ACKER, NACKER, meshOfFile } from './support.ts';

const mesh = meshOfFile();

const rows = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/));

describe('trellis proxy-config', () => {
  it.each([
    [
      'clusters',
      ['NAME', 'TYPE', 'LB POLICY', 'SOURCES'],
      ['outbound|50051||catalog.shop.svc.cluster.local', 'EDS', 'ROUND_ROBIN', 'Service shop/catalog, TrafficPolicy shop/catalog-resilience'],
    ],
    ['listeners', ['NAME', 'ADDRESS', 'DIRECTION', 'FILTER CHAINS'], ['0.0.0.0_50051', '0.0.0.0:50051', 'OUTBOUND', '1']],
    [
      'routes',
      ['NAME', 'VIRTUAL HOST', 'DOMAINS', 'ROUTES'],
      ['50051', 'catalog.shop.svc.cluster.local:50051', '10.96.10.20, 10.96.10.20:50051, catalog +7 more', '1'],
    ],
    [
      'endpoints',
      ['ENDPOINT', 'HEALTH', 'LOCALITY', 'PRIORITY', 'CLUSTER'],
      ['10.244.3.23:50051', 'HEALTHY', 'eu-central-1/eu-central-1a', '0', 'outbound|50051||catalog.shop.svc.cluster.local'],
    ],
  ])('prints the %s a proxy has acked as a table', async (type, header, expected) => {
    const r = await trellis('proxy-config', type, ACKER, '--debug-address', mesh.debug);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = rows(r.stdout);
    expect(table[0]).toEqual(header);
    expect(table).toContainEqual(expected);
  });

  it('says the proxy holds no secrets (the plaintext port serves none)', async () => {
    const r = await trellis('proxy-config', 'secrets', ACKER, '--debug-address', mesh.debug);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${ACKER} holds no secrets\n`);
  });

  it('accepts the singular of a type', async () => {
    const r = await trellis('proxy-config', 'cluster', ACKER, '--debug-address', mesh.debug);
    expect(r.code).toBe(0);
    expect(rows(r.stdout).map((row) => row[0])).toContain('PassthroughCluster');
  });

  it('prints the resources with their sources as JSON and as YAML', async () => {
    const json = await trellis('proxy-config', 'clusters', ACKER, '--debug-address', mesh.debug, '-o', 'json');
    expect(json.code).toBe(0);
    const data = JSON.parse(json.stdout) as {
      proxy: string;
      type: string;
      versionAcked: string;
      resources: { name: string; sources: string[]; resource: { name: string } }[];
    };
    expect(data.proxy).toBe(ACKER);
    expect(data.type).toBe('clusters');
    expect(data.versionAcked).not.toBe('');
    expect(data.resources).toHaveLength(8);
    const catalog = data.resources.find((r) => r.name === 'outbound|50051||catalog.shop.svc.cluster.local');
    expect(catalog?.sources).toEqual(['Service shop/catalog', 'TrafficPolicy shop/catalog-resilience']);
    expect(catalog?.resource.name).toBe(catalog?.name);
    const yaml = await trellis('proxy-config', 'clusters', ACKER, '--debug-address', mesh.debug, '-o', 'yaml');
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toEqual(data);
  });

  it("says on stderr, in one line, that the proxy's last answer was a NACK", async () => {
    const r = await trellis('proxy-config', 'clusters', NACKER, '--debug-address', mesh.debug);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${NACKER} holds no clusters\n`);
    expect(r.stderr).toBe("the proxy's last answer of this type was a NACK: cluster rejected: unsupported field\n");
  });

  it('escapes the control characters of a NACK message rather than pass them to the terminal', async () => {
    const answer = {
      proxy: 'x.shop',
      types: [{ type: 'CDS', kind: 'cluster', versionAcked: '', lastError: { message: 'rejected:\n\u001b[2J\u009bcleared' }, resources: [] }],
    };
    const server = createServer((_req, res) => res.end(JSON.stringify(answer))).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const r = await trellis('proxy-config', 'clusters', 'x.shop', '--debug-address', `127.0.0.1:${port}`);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("the proxy's last answer of this type was a NACK: rejected: \\x1b[2J\\x9bcleared\n");
    } finally {
      server.close();
    }
  });

  it('exits 1 naming a proxy that is not connected', async () => {
    const r = await trellis('proxy-config', 'routes', 'frontnd.shop', '--debug-address', mesh.debug);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`proxy "frontnd.shop" is not connected to Trellis at ${mesh.debug}; run trellis proxy-status for the connected proxies\n`);
  });

  it('says in one line that it cannot reach Trellis, naming the address', async () => {
    const r = await trellis('proxy-config', 'clusters', ACKER, '--debug-address', '127.0.0.1:1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trellis proxy-config: cannot reach Trellis's debug endpoint at 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
  });

  it.each([
    [['clusters'], 'trellis proxy-config: expected TYPE and PROXY (clusters|listeners|routes|endpoints|secrets and a node id), got clusters'],
    [['pods', ACKER], 'trellis proxy-config: TYPE: expected clusters, listeners, routes, endpoints, secrets, got "pods"'],
  ])('refuses %j in one line with exit 2', async (args, message) => {
    const r = await trellis('proxy-config', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });

  it('refuses an unknown flag in one line with exit 2', async () => {
    const r = await trellis('proxy-config', 'clusters', ACKER, '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trellis proxy-config: Unknown option '--bogus'.*\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
