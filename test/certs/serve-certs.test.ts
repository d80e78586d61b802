/**
 * `trellis serve --issuer ... --trust-bundle FILE` against a real API server and the real cert-manager,
 * as a ServiceAccount bound to exactly KUBE_RBAC_RULES: the bundle published as ConfigMap
 * trellis-ca-root-cert in every watched namespace (and republished when the file changes), leftover
 * CertificateRequests of this replica deleted at start, /debug/certz and /metrics showing it, and a
 * bad bundle refused in one line.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyAndCsr } from '../../src/certs/csr.ts';
import { MANAGED_BY, REPLICA_LABEL } from '../../src/certs/requests.ts';
import type { ServeHandle } from '../../src/pipeline/index.ts';
import { sharedCertManager, type CertManager } from '../support/cert-manager.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { serveWithIssuer, type ServedWithIssuer } from './support.ts';

const GROUP = { group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests' };
const WAIT_MS = 60_000;

let env: Envtest;
let cm: CertManager;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let adminKc: KubeConfig;
let dir: string;
const handles: ServeHandle[] = [];

beforeAll(async () => {
  env = await sharedEnvtest();
  cm = await sharedCertManager(env);
  adminKc = new KubeConfig();
  adminKc.loadFromString(env.adminKubeconfig);
  core = adminKc.makeApiClient(CoreV1Api);
  custom = adminKc.makeApiClient(CustomObjectsApi);
  dir = await mkdtemp(join(tmpdir(), 'trellis-serve-certs-'));
}, 120_000);
afterAll(async () => {
  for (const h of handles) await h.stop();
  await rm(dir, { recursive: true, force: true });
});

async function start(home: string, watched: readonly string[], bundleFile: string): Promise<ServedWithIssuer> {
  const t = await serveWithIssuer(env, cm, dir, home, watched, bundleFile);
  handles.push(t.handle);
  return t;
}

/** Resolves with the namespace's trellis-ca-root-cert once it holds `pem` (a watch, from a list). */
async function rootCertHolds(namespace: string, pem: string): Promise<V1ConfigMap> {
  const matches = (cm?: V1ConfigMap) => cm?.data?.['root-cert.pem'] === pem;
  const list = await core.listNamespacedConfigMap({ namespace, fieldSelector: 'metadata.name=trellis-ca-root-cert' });
  const found = list.items.find((c) => matches(c));
  if (found) return found;
  return new Promise((resolve, reject) => {
    let abort: AbortController | undefined;
    const timer = setTimeout(() => {
      abort?.abort();
      reject(new Error(`trellis-ca-root-cert in ${namespace} never held the bundle`));
    }, WAIT_MS);
    void new Watch(adminKc)
      .watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        { fieldSelector: 'metadata.name=trellis-ca-root-cert', resourceVersion: list.metadata?.resourceVersion },
        (_type: string, obj: V1ConfigMap) => {
          if (!matches(obj)) return;
          clearTimeout(timer);
          abort?.abort();
          resolve(obj);
        },
        () => undefined,
      )
      .then((a) => (abort = a), reject);
  });
}

describe('serve with an issuer', () => {
  it('publishes the trust bundle in every watched namespace, and again when the file changes', async () => {
    const home = await env.namespace('trellis');
    const [a, b] = [await env.namespace('shop'), await env.namespace('pay')];
    const bundle = join(dir, 'bundle-1.pem');
    await writeFile(bundle, cm.rootPem);
    const t = await start(home, [a, b], bundle);
    const published = await rootCertHolds(a, cm.rootPem);
    expect(published.metadata?.labels).toMatchObject(MANAGED_BY);
    await rootCertHolds(b, cm.rootPem);

    const other = await cm.newCaIssuer(`other-${home}`);
    await writeFile(join(dir, 'next.pem'), cm.rootPem + other.rootPem);
    await rename(join(dir, 'next.pem'), bundle);
    await rootCertHolds(a, cm.rootPem + other.rootPem);
    await rootCertHolds(b, cm.rootPem + other.rootPem);

    const certz = (await (await fetch(`${t.debug}/debug/certz`)).json()) as { enabled: boolean; issuer: object; trustBundle: { roots: unknown[] } };
    expect(certz).toMatchObject({ enabled: true, issuer: { kind: 'ClusterIssuer', name: cm.issuerName, group: 'cert-manager.io' }, unpublished: [] });
    expect(certz.trustBundle.roots).toHaveLength(2);
    const index = await (await fetch(`${t.debug}/debug`)).text();
    expect(index.split('\n')[0]).toMatch(
      new RegExp(`^workload certificates from ClusterIssuer ${cm.issuerName} \\(cert-manager.io\\), trust bundle .* \\(2 roots\\)`),
    );
    const metrics = await (await fetch(`${t.debug}/metrics`)).text();
    expect(metrics).toMatch(/^trellis_cert_failures_total\{reason="Denied"\} 0$/m);
  }, 120_000);

  it("deletes this replica's leftover CertificateRequests at start", async () => {
    const home = await env.namespace('trellis');
    const leftover = (await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: home,
      body: {
        apiVersion: 'cert-manager.io/v1',
        kind: 'CertificateRequest',
        metadata: { generateName: 'trellis-', labels: { ...MANAGED_BY, [REPLICA_LABEL]: 'trellis-0' } },
        spec: { request: Buffer.from(newKeyAndCsr('spiffe://cluster.local/ns/a/sa/b').csrPem).toString('base64'), issuerRef: { name: 'no-such-issuer' } },
      },
    })) as { metadata: { name: string } };
    const bundle = join(dir, `bundle-${home}.pem`);
    await writeFile(bundle, cm.rootPem);
    const t = await start(home, [home], bundle);
    const line = t.logs.lines.find((l) => l.msg === 'deleted CertificateRequests left by an earlier run');
    expect(line).toMatchObject({ namespace: home, deleted: 1 });
    const left = (await custom.listNamespacedCustomObject({ ...GROUP, namespace: home })) as { items: { metadata: { name: string } }[] };
    expect(left.items.map((i) => i.metadata.name)).not.toContain(leftover.metadata.name);
  }, 120_000);

  it("is ready, and says the secure port waits, until cert-manager issues Trellis's own certificate, then just ready", async () => {
    const home = await env.namespace('trellis');
    const bundle = join(dir, `bundle-${home}.pem`);
    await writeFile(bundle, cm.rootPem);
    await cm.stopController();
    try {
      const t = await start(home, [home], bundle);
      const readyz = await fetch(`${t.debug}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.text()).toBe("ready; the secure xDS port waits for Trellis's own certificate from cert-manager (see /debug/certz)\n");
      const certz = (await (await fetch(`${t.debug}/debug/certz`)).json()) as { identities: { identity: string; state: string }[] };
      expect(certz.identities).toEqual([expect.objectContaining({ identity: `spiffe://cluster.local/ns/${home}/sa/trellis`, state: 'issuing' })]);
      await cm.startController({ approver: true });
      await t.logs.until("Trellis's own certificate", (lines) => lines.some((l) => l.msg === 'workload certificate issued'), WAIT_MS);
      expect(await (await fetch(`${t.debug}/readyz`)).text()).toBe('ready\n');
    } finally {
      if (!cm.approver) await cm.startController({ approver: true });
    }
  }, 120_000);

  it('refuses to start on a trust bundle it cannot use, naming the file', async () => {
    const home = await env.namespace('trellis');
    const bundle = join(dir, 'broken.pem');
    await writeFile(bundle, 'not a certificate');
    await expect(start(home, [home], bundle)).rejects.toThrow(`the trust bundle ${bundle} holds no PEM certificate`);
  }, 60_000);
});
