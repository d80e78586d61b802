/**
 * `trellis proxy-status` as a process against a real `trellis serve` on the example mesh, with proxies
 * that ACK, NACK and never answer: the table, one proxy, JSON and YAML, and the exit codes scripts wait on.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trellis } from '../support/cli.ts';
import { ACKER, NACKER, SILENT, meshOfFile } from './support.ts';

const mesh = meshOfFile();

interface StatusJson {
  proxies: {
    name: string;
    cluster: string;
    state: string;
    lastAck: string | null;
    types: { type: string; state: string; resources: Record<string, number>; error?: { message: string } }[];
  }[];
}

const row = (stdout: string, start: string) =>
  stdout
    .split('\n')
    .find((l) => l.startsWith(start))
    ?.split(/\s{2,}/);

describe('trellis proxy-status', () => {
  it('prints every proxy with its state per type, escapes control characters, and exits 1 when one is not SYNCED', async () => {
    const r = await trellis('proxy-status', '--xds-address', mesh.xds);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]?.split(/\s+/)).toEqual(['NAME', 'CLUSTER', 'CDS', 'LDS', 'EDS', 'RDS', 'SDS', 'LAST', 'ACK']);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['NAME', NACKER, ACKER, 'silent\\x1b[2J.shop']);
    expect(r.stdout).not.toContain('\u001b');
    expect(row(r.stdout, ACKER)?.slice(1, 7)).toEqual(['frontend.shop', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', '-']);
    expect(row(r.stdout, ACKER)?.[7]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(row(r.stdout, NACKER)?.slice(1, 8)).toEqual(['app.shop', 'ERROR', '-', '-', '-', '-', '-']);
    expect(row(r.stdout, 'silent')?.slice(1, 8)).toEqual(['app.shop', 'STALE', '-', '-', '-', '-', '-']);
  });

  it('shows one SYNCED proxy with its resources per type, and exits 0', async () => {
    const r = await trellis('proxy-status', ACKER, '--xds-address', mesh.xds);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TYPE  STATE   ACKED  NACKED  REQUESTED  DOES_NOT_EXIST  LAST ACK');
    expect(row(r.stdout, 'CDS')?.slice(0, 6)).toEqual(['CDS', 'SYNCED', '8', '0', '0', '0']);
    expect(row(r.stdout, 'RDS')?.slice(0, 3)).toEqual(['RDS', 'SYNCED', '3']);
    expect(row(r.stdout, 'SDS')).toBeUndefined();
  });

  it("shows a NACKing proxy's message on one line, and exits 1", async () => {
    const r = await trellis('proxy-status', NACKER, '--xds-address', mesh.xds);
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'CDS')?.slice(0, 3)).toEqual(['CDS', 'ERROR', '0']);
    expect(row(r.stdout, 'CDS')?.at(-1)).toBe('cluster rejected: unsupported field');
  });

  it('exits 1 naming a proxy that is not connected', async () => {
    const r = await trellis('proxy-status', 'frontnd.shop', '--xds-address', mesh.xds);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`proxy "frontnd.shop" is not connected to Trellis at ${mesh.xds}; run trellis proxy-status for the connected proxies\n`);
  });

  it('prints the same data as JSON and as YAML', async () => {
    const json = await trellis('proxy-status', '--xds-address', mesh.xds, '-o', 'json');
    expect(json.code).toBe(1);
    const data = JSON.parse(json.stdout) as StatusJson;
    expect(data.proxies.map((p) => [p.name, p.state])).toEqual([
      [NACKER, 'ERROR'],
      [ACKER, 'SYNCED'],
      [SILENT, 'STALE'],
    ]);
    const acker = data.proxies[1];
    expect(acker?.types.map((t) => t.type)).toEqual(['CDS', 'LDS', 'EDS', 'RDS']);
    expect(acker?.types[0]?.resources).toEqual({ ACKED: 8 });
    expect(data.proxies[0]?.types[0]?.error?.message).toBe('cluster rejected:\nunsupported field');
    const yaml = await trellis('proxy-status', '--xds-address', mesh.xds, '--output', 'yaml');
    expect(yaml.code).toBe(1);
    const fromYaml = parse(yaml.stdout) as StatusJson;
    expect(fromYaml.proxies.map((p) => [p.name, p.state, p.types.map((t) => t.state)])).toEqual(
      data.proxies.map((p) => [p.name, p.state, p.types.map((t) => t.state)]),
    );
  });

  it('says in one line that it cannot reach Trellis, naming the address, and exits non-zero', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    server.close();
    await once(server, 'close');
    const r = await trellis('proxy-status', '--xds-address', `127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^trellis proxy-status: cannot reach Trellis's xDS port at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
  });

  it.each([
    [['--output', 'xml'], 'trellis proxy-status: --output: expected table, json or yaml'],
    [['a.shop', 'b.shop'], 'trellis proxy-status: expected at most one PROXY, got 2: a.shop b.shop'],
    [['--xds-address', 'nowhere'], 'trellis proxy-status: --xds-address: expected HOST:PORT, e.g. 127.0.0.1:15010'],
    [['--kubeconfig', 'kc.yaml', '--xds-address', '127.0.0.1:1'], 'trellis proxy-status: --xds-address: give it or --kubeconfig/--context, not both'],
  ])('refuses %j in one line with exit 2', async (args, message) => {
    const r = await trellis('proxy-status', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });
});
