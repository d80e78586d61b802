/**
 * `trellis policy-status` as a process against a real `trellis serve` on the example mesh: the
 * catalog's policy reaches a proxy that ACKs and one that NACKs, so it is not Programmed — the table,
 * one policy, JSON and YAML, and the exit codes.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trellis } from '../support/cli.ts';
import { pollFor } from '../support/poll.ts';
import { NACKER, SILENT, meshOfFile } from './support.ts';

const mesh = meshOfFile();

describe('trellis policy-status', () => {
  it('prints each policy with Accepted and Programmed, and exits 1 when one is not Programmed', async () => {
    const r = await trellis('policy-status', '--debug-address', mesh.debug);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(lines[0]).toEqual(['NAMESPACE', 'NAME', 'ACCEPTED', 'PROGRAMMED', 'MESSAGE']);
    expect(lines[1]).toEqual([
      'shop',
      'catalog-resilience',
      'True',
      'False (Rejected)',
      'Programmed: rejected by 1/3 proxies: app-nack.shop: cluster rejected: unsupported field',
    ]);
    expect(lines).toHaveLength(2);
  });

  it('shows one policy with what it attaches to and every condition', async () => {
    const r = await trellis('policy-status', 'shop/catalog-resilience', '--debug-address', mesh.debug);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^TrafficPolicy shop\/catalog-resilience\nattached to: .*catalog.*\n\nCONDITION\s+STATUS\s+REASON\s+MESSAGE\n/);
    expect(r.stdout).toMatch(/^Accepted\s+True\s+Accepted\s/m);
    expect(r.stdout).toMatch(/^Programmed\s+False\s+Rejected\s+rejected by 1\/3 proxies/m);
  });

  it('prints the same data as JSON and as YAML', async () => {
    const json = await trellis('policy-status', '-o', 'json', '--debug-address', mesh.debug);
    expect(json.code).toBe(1);
    const data = JSON.parse(json.stdout) as { policies: { policy: string; conditions: { type: string; status: string }[] }[] };
    expect(data.policies.map((p) => p.policy)).toEqual(['TrafficPolicy shop/catalog-resilience']);
    expect(data.policies[0]?.conditions.find((c) => c.type === 'Programmed')?.status).toBe('False');
    const yaml = await trellis('policy-status', '-o', 'yaml', '--debug-address', mesh.debug);
    expect(parse(yaml.stdout)).toEqual(data);
  });

  it('exits 1 naming a policy that does not exist, and the closest', async () => {
    const r = await trellis('policy-status', 'shop/catalog-resilent', '--debug-address', mesh.debug);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`no TrafficPolicy shop/catalog-resilent in Trellis at ${mesh.debug}; closest: shop/catalog-resilience\n`);
  });

  it('names the address when what answers is not Trellis', async () => {
    const server = createServer((_req, res) => res.end('<html>hello</html>')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const r = await trellis('policy-status', '--debug-address', `127.0.0.1:${port}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `trellis policy-status: 127.0.0.1:${port}: GET /debug/policies: not JSON (is this Trellis's debug endpoint?): <html>hello</html>\n`,
      );
    } finally {
      server.close();
    }
  });

  it.each([
    [['shop'], 'trellis policy-status: NAMESPACE/NAME: expected a TrafficPolicy as namespace/name, got "shop"'],
    [['--namespace', 'x'], 'trellis policy-status: --namespace: only with --kubeconfig or --context'],
  ])('refuses %j in one line with exit 2', async (args, message) => {
    const r = await trellis('policy-status', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });
});

// Last: it disconnects the proxies that hold the policy back.
describe('trellis policy-status once the proxies that did not ACK are gone', () => {
  it('exits 0: every policy is Programmed', async () => {
    mesh.disconnect(NACKER);
    mesh.disconnect(SILENT);
    const r = await pollFor(
      'policy-status to exit 0',
      () => trellis('policy-status', '--debug-address', mesh.debug),
      (res) => res.code === 0,
      30_000,
    );
    expect(r.stdout).toMatch(/^shop\s+catalog-resilience\s+True\s+True\s+acked by 1\/1 proxy\n$/m);
  });
});
