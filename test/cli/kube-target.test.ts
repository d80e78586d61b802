/**
 * The cluster mode of proxy-status, proxy-config and policy-status against a real API server (envtest):
 * finding a Trellis pod of the chart by its selector label. Envtest has no kubelet, so the port-forward
 * itself cannot complete here; what can be shown for real is each way the lookup fails, and that a
 * Running pod is found and forwarded to (the forward then fails at the API server, naming the pod).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, type Admin } from '../sources/kube-support.ts';
import { trellis } from '../support/cli.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';

let env: Envtest;
let api: Admin;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  env = await sharedEnvtest();
  api = admin(env);
  dir = await mkdtemp(join(tmpdir(), 'trellis-cli-kube-target-'));
  kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, env.adminKubeconfig);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const trellisPod = (name: string): V1Pod => ({
  metadata: { name, labels: { 'app.kubernetes.io/name': 'trellis', 'app.kubernetes.io/instance': 'trellis' } },
  spec: { nodeName: 'node-1', containers: [{ name: 'trellis', image: 'trellis', ports: [{ name: 'http-debug', containerPort: 15014 }] }] },
});

async function createPod(namespace: string, name: string, phase?: string): Promise<void> {
  await api.core.createNamespacedPod({ namespace, body: trellisPod(name) });
  if (phase) await api.core.replaceNamespacedPodStatus({ name, namespace, body: { ...trellisPod(name), status: { phase } } });
}

describe('proxy-status, proxy-config and policy-status --kubeconfig', () => {
  it('says no Trellis pod is in the namespace, naming it and the selector', async () => {
    const ns = await env.namespace('cli-none');
    const r = await trellis('policy-status', '--kubeconfig', kubeconfig, '--namespace', ns);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `trellis policy-status: no Trellis pod in namespace ${ns} (selector app.kubernetes.io/name=trellis): is the chart installed there? (--namespace)\n`,
    );
  });

  it('says no Trellis pod is Running, naming each and its phase', async () => {
    const ns = await env.namespace('cli-pending');
    await createPod(ns, 'trellis-a');
    await createPod(ns, 'trellis-b', 'Failed');
    const r = await trellis('proxy-status', '--kubeconfig', kubeconfig, '-n', ns);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `trellis proxy-status: no Running Trellis pod in namespace ${ns} (selector app.kubernetes.io/name=trellis): trellis-a is Pending; trellis-b is Failed\n`,
    );
  });

  it('forwards to a Running pod, and names it when the forward fails (envtest has no kubelet)', async () => {
    const ns = await env.namespace('cli-running');
    await createPod(ns, 'trellis-b', 'Pending');
    await createPod(ns, 'trellis-a', 'Running');
    const r = await trellis('proxy-config', 'clusters', 'web-0.shop', '--kubeconfig', kubeconfig, '--namespace', ns);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^trellis proxy-config: cannot reach Trellis's debug endpoint at 127\\.0\\.0\\.1:\\d+ \\(port-forward to ${ns}/trellis-a:15014\\): .+; the port-forward failed: .+\\n$`,
      ),
    );
  });

  it('names a context the kubeconfig lacks', async () => {
    const r = await trellis('policy-status', '--kubeconfig', kubeconfig, '--context', 'prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('trellis policy-status: no context "prod" in the kubeconfig; it has: envtest\n');
  });
});
