/**
 * `trellis validate` and `trellis render` as scripts use them: `-o json`, several paths and stdin,
 * and a proxy that names no workload.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trellis, trellisWithInput } from './support/cli.ts';

const POLICY = `apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: typo, namespace: shop }
spec:
  targetRefs: [{ group: "", kind: Service, name: catalog }]
  retires:
    attempts: 3
`;
const OTHERS =
  'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: shop }\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d, namespace: shop }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: b, namespace: shop }\n';
const BAD_PORT = 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec:\n  ports: [{ port: 70000 }]\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-cli-output-'));
  await mkdir(join(dir, 'more'));
  await writeFile(join(dir, 'more', 'others.yaml'), OTHERS);
  await writeFile(join(dir, 'bad-port.yaml'), BAD_PORT);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trellis validate: files, directories and stdin', () => {
  it('reads several at once, names each file by the path given, with line and column, and counts skipped kinds in one line', async () => {
    const r = await trellisWithInput(POLICY, 'validate', 'examples/mesh', `${dir}/more/`, join(dir, 'bad-port.yaml'), '-');
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(`error: ${join(dir, 'bad-port.yaml')}#1:5:13 Service shop/web: spec.ports[0].port: Too big: expected number to be <=65535`);
    expect(lines).toContain('error: <stdin>#1:6:3 TrafficPolicy shop/typo: spec.retires: unknown field (did you mean retries?)');
    expect(lines).toContain('warning: skipped 3 objects of kinds Trellis does not read: ConfigMap (2), Deployment (1)');
    expect(lines.filter((l) => l.includes('ConfigMap') || l.includes('Deployment'))).toHaveLength(1);
    expect(lines.at(-1)).toBe('2 error(s), 1 warning(s)');
  });

  it('still takes --manifests DIR, naming files relative to it', async () => {
    const r = await trellis('validate', '--manifests', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error: bad-port.yaml#1:5:13 Service shop/web:');
  });
});

describe('trellis validate -o json', () => {
  it('prints the diagnostics, the policy statuses and the counts', async () => {
    const r = await trellisWithInput(POLICY, 'validate', 'examples/mesh', '-', '-o', 'json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      diagnostics: unknown[];
      policies: { policy: string; conditions: { type: string; status: string }[] }[];
      counts: unknown;
    };
    expect(out.diagnostics).toEqual([
      {
        severity: 'error',
        object: { kind: 'TrafficPolicy', namespace: 'shop', name: 'typo' },
        field: 'spec.retires',
        origin: { file: '<stdin>', document: 0, line: 6, column: 3 },
        message: 'unknown field (did you mean retries?)',
      },
    ]);
    expect(out.policies.map((p) => [p.policy, p.conditions.map((c) => `${c.type}=${c.status}`)])).toEqual([
      ['TrafficPolicy shop/catalog-resilience', ['Accepted=True', 'ResolvedRefs=True']],
      ['TrafficPolicy shop/typo', ['Accepted=False']],
    ]);
    expect(out.counts).toEqual({ errors: 1, warnings: 0 });
  });

  it('exits 0 with no diagnostics on the example mesh', async () => {
    const r = await trellis('validate', '--manifests', 'examples/mesh', '--output', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ diagnostics: [], counts: { errors: 0, warnings: 0 } });
  });
});

describe('trellis render', () => {
  it('-o json prints the resources per type and the diagnostics', async () => {
    const r = await trellis('render', '--manifests', 'examples/mesh', '--proxy', 'frontend-6d9f7-a1.shop', '-o', 'json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { resources: Record<string, { name: string; sources: string[] }[]>; diagnostics: unknown[] };
    expect(Object.keys(out.resources)).toEqual(['secret', 'cluster', 'endpoint', 'listener', 'route']);
    expect(out.resources.cluster?.map((c) => c.name)).toContain('outbound|50051||catalog.shop.svc.cluster.local');
    expect(out.resources.listener?.map((l) => l.name)).toEqual(expect.arrayContaining(['virtualInbound', 'virtualOutbound']));
    expect(out.diagnostics).toEqual([]);
  });

  it('exits 1 for a sidecar of a workload that does not exist, naming the closest ones', async () => {
    const r = await trellis('render', '--manifests', 'examples/mesh', '--proxy', 'frontnd.shop');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: no workload shop/frontnd; closest: shop/frontend-6d9f7-a1, shop/frontend-6d9f7-b2, shop/frontend-6d9f7-c3\n');
    const json = await trellis('render', '--manifests', 'examples/mesh', '--proxy', 'frontnd.shop', '-o', 'json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      diagnostics: [{ severity: 'error', message: expect.stringMatching(/^no workload shop\/frontnd; closest: shop\/frontend-6d9f7-a1/) }],
    });
  });
});

describe('trellis validate: references that do not resolve', () => {
  const ROUTED = `apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: routed, namespace: shop }
spec:
  targetRefs: [{ group: "", kind: Service, name: catalog }]
  routing:
    http:
      - name: to-nowhere
        backends: [{ weight: 90 }, { service: nope, weight: 10 }]
`;

  it('are errors with ResolvedRefs=False naming the field and the missing object, and exit 1', async () => {
    const r = await trellisWithInput(ROUTED, 'validate', 'examples/mesh', '-');
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('error: <stdin>#1:9:38 TrafficPolicy shop/routed: spec.routing.http[0].backends[1].service: Service shop/nope not found; left out');
    expect(lines).toContain(
      'TrafficPolicy shop/routed: ResolvedRefs=False (BackendNotFound): spec.routing.http[0].backends[1].service: Service shop/nope not found; left out',
    );
    expect(lines).toContain('TrafficPolicy shop/routed: Accepted=True (Accepted): attached to Service shop/catalog:50051');
    expect(lines.at(-1)).toBe('1 error(s), 0 warning(s)');
  });
});
