/**
 * `trellis serve` against a real API server, as a process: the cluster flags work end to end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBE_RBAC_RULES } from '../src/sources/kube/index.ts';
import { sharedEnvtest, type Envtest } from './support/envtest.ts';

const tsx = createRequire(import.meta.url).resolve('tsx');
let env: Envtest;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  env = await sharedEnvtest();
  dir = await mkdtemp(join(tmpdir(), 'trellis-cli-kube-'));
});

afterAll(async () => {
  child?.kill('SIGTERM');
  if (child && child.exitCode === null) await new Promise((resolve) => child?.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('trellis serve --kubeconfig', () => {
  it('serves from the cluster, scoped to its namespaces, and takes the status-writer lease under its --id', async () => {
    const ns = await env.namespace('cli');
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, await env.serviceAccountKubeconfig({ namespace: ns, name: 'trellis', rules: KUBE_RBAC_RULES }));
    child = spawn(process.execPath, ['--import', tsx, 'src/cli.ts', 'serve', '--kubeconfig', kubeconfig, '--namespaces', ns, '--lease-namespace', ns, '--id', 'replica-1', '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seen: string[] = [];
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    for await (const line of lines) {
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
      seen.push(msg);
      if (seen.includes('trellis serving') && seen.includes('became the leader: writing status')) break;
    }
    expect(seen).toEqual(expect.arrayContaining(['trellis serving', 'became the leader: writing status']));
    const kc = new KubeConfig();
    kc.loadFromString(env.adminKubeconfig);
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'trellis-status-writer', namespace: ns });
    expect(lease.spec?.holderIdentity).toBe('replica-1');
  });
});
