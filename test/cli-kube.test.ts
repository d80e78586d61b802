/**
 * `trellis serve` against a real API server, as a process: the cluster flags work end to end, and
 * an API server it cannot reach at start leaves it alive, unready, saying why, until it can.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, service, trellisKubeconfigYaml } from './sources/kube-support.ts';
import { SotwClient } from './support/ads-client.ts';
import { TrellisProcess } from './support/cli-process.ts';
import { sharedEnvtest, type Envtest } from './support/envtest.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';

const tsx = createRequire(import.meta.url).resolve('tsx');
let env: Envtest;
let dir: string;
let child: ChildProcess | undefined;
let waiting: TrellisProcess | undefined;
let proxy: FaultProxy | undefined;
let xds: SotwClient | undefined;

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

beforeAll(async () => {
  env = await sharedEnvtest();
  dir = await mkdtemp(join(tmpdir(), 'trellis-cli-kube-'));
});

afterAll(async () => {
  await waiting?.stop();
  xds?.close();
  await proxy?.close();
  child?.kill('SIGTERM');
  if (child && child.exitCode === null) await new Promise((resolve) => child?.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('trellis serve --kubeconfig', () => {
  it('serves from the cluster, scoped to its namespaces, and takes the status-writer lease under its --id', async () => {
    const ns = await env.namespace('cli');
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, await trellisKubeconfigYaml(env, ns));
    child = spawn(
      process.execPath,
      [
        '--import',
        tsx,
        'src/cli.ts',
        'serve',
        '--kubeconfig',
        kubeconfig,
        '--namespaces',
        ns,
        '--lease-namespace',
        ns,
        '--id',
        'replica-1',
        '--xds-address',
        '127.0.0.1:0',
        '--debug-address',
        '127.0.0.1:0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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

describe('trellis serve --kubeconfig with the API server unreachable at start', () => {
  it('answers /healthz, and /readyz 503 with what it waits for and why; xDS waits; all serve once the API server is reachable', async () => {
    const ns = await env.namespace('cli-wait');
    await admin(env).core.createNamespacedService({ namespace: ns, body: service('web') });
    proxy = await startFaultProxy({ url: env.url, caPem: env.caPem });
    proxy.refuse();
    const kubeconfig = join(dir, 'unreachable.yaml');
    await writeFile(kubeconfig, await trellisKubeconfigYaml(env, ns, proxy.url));
    const flags = ['--kubeconfig', kubeconfig, '--namespaces', ns, '--lease-namespace', ns, '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0'];
    waiting = new TrellisProcess(['serve', ...flags]);
    const debug = `http://127.0.0.1:${await waiting.debugPort()}`;

    const refused = new RegExp(`^waiting for the first list of Services in ${ns}: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+; retrying in \\d+\\.\\ds$`);
    await waiting.until('a retry of the Services list, with its delay', (l) => l.level === 40 && refused.test(l.msg));
    expect((await fetch(`${debug}/healthz`)).status).toBe(200);
    const unready = await fetch(`${debug}/readyz`);
    expect(unready.status).toBe(503);
    expect(await unready.text()).toMatch(
      new RegExp(`^not ready: waiting for the first list of Services in ${ns}: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+; also of `),
    );

    // An xDS request is taken, and not answered with empty configuration while the sources have not synced.
    const port = Number((await waiting.until('xDS listening', (l) => l.msg === 'xDS listening')).port);
    xds = await SotwClient.connect(`127.0.0.1:${port}`, { node: { id: `client.${ns}`, metadata: { PROXY_MODE: 'proxyless', NAMESPACE: ns } } });
    xds.subscribe(CDS);
    await waiting.until('the proxy seen', (l) => l.msg === 'proxy connected');
    expect(xds.received).toBe(0);

    proxy.allow();
    const clusters = await xds.next(CDS, 30_000);
    expect(clusters.resources.map((r) => r.name)).toContain(`outbound|80||web.${ns}.svc.cluster.local`);
    await waiting.until('trellis serving', (l) => l.msg === 'trellis serving');
    expect((await fetch(`${debug}/readyz`)).status).toBe(200);
    expect(await waiting.stop()).toBe(0);
  });
});
