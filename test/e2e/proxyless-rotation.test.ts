/**
 * Rotation of workload certificates and of the CA, during continuous gRPC calls, with certificates
 * from the real cert-manager (requested through src/certs' CertificateRequests) and grpc-js-xds
 * processes whose bootstraps watch the files (gRPC's file_watcher, re-read every second) — as
 * csi-driver-spiffe would keep them: the new root is added to the bundle, the leaves are reissued by
 * the new CA, the old root is dropped. Each step waits until the server shows it took it (a probe
 * client that can only succeed, or only fail, once it has), and not one of the calls fails.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyAndCsr } from '../../src/certs/csr.ts';
import { CertificateRequests } from '../../src/certs/requests.ts';
import { classifyNode, proxyClassOf } from '../../src/translate/proxy.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import { sharedCertManager, type CertManager } from '../support/cert-manager.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { pollFor } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { startXdsClient, startXdsServer, type CallTally, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { fileProviders, GREETER_ID, NS, strictMesh } from './mtls-support.ts';

const PROXY = { mode: 'proxyless', namespace: NS } as const;
const CLIENT_ID = `spiffe://cluster.local/ns/${NS}/sa/client`;
const TARGET = 'xds:///greeter.default.svc.cluster.local:7070';
const STEP_MS = 60_000;

let env: Envtest;
let cm: CertManager;
let dir: string;
let ns: string;
let t: TestServer;
let server: XdsServerProcess;
let caller: XdsClientProcess;
const probes = new Set<XdsClientProcess>();

/** Writes a file as csi-driver-spiffe and kubelet do: whole, by rename. */
async function put(name: string, text: string): Promise<void> {
  await writeFile(join(dir, `${name}.next`), text);
  await rename(join(dir, `${name}.next`), join(dir, name));
}

/** A certificate for `identity` from `issuer` (a ClusterIssuer of the real cert-manager), written as `<name>.crt` and `<name>.key`. */
async function issue(issuer: string, identity: string, name: string): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(env.adminKubeconfig);
  const requests = new CertificateRequests({
    kubeConfig,
    namespace: ns,
    issuer: { kind: 'ClusterIssuer', name: issuer, group: 'cert-manager.io' },
    durationSeconds: 3600,
    timeoutMs: 30_000,
    replica: 'rotation-test',
    logger: pino({ level: 'silent' }),
  });
  const { privateKey, csrPem } = newKeyAndCsr(identity);
  const outcome = await requests.request(identity, csrPem, AbortSignal.timeout(STEP_MS));
  if (outcome.kind !== 'issued') throw new Error(`${identity} from ${issuer}: ${outcome.kind}: ${outcome.message}`);
  // The key first: a watcher reading between the two writes gets a pair that does not match, and keeps the old one.
  await put(`${name}.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  await put(`${name}.crt`, outcome.certificatePem);
}

/** Whether a fresh client with certificate `name` and bundle `ca` gets an answer from the greeter now. */
async function probeSucceeds(name: string, ca: string): Promise<boolean> {
  const probe = await startXdsClient({
    xdsServer: t.address,
    nodeId: `probe-${name}.${NS}`,
    nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: NS, POD_NAME: `probe-${name}` },
    target: TARGET,
    xdsCredentials: true,
    certificateProviders: fileProviders(dir, name, { ca }),
  });
  probes.add(probe);
  try {
    await probe.call({ deadlineMs: 3000, waitForReady: false });
    return true;
  } catch {
    return false;
  } finally {
    probes.delete(probe);
    await probe.close();
  }
}

/** Waits until the server shows it took a step: a probe answers `expected`. */
async function until(what: string, name: string, ca: string, expected: boolean): Promise<void> {
  await pollFor(
    what,
    () => probeSucceeds(name, ca),
    (ok) => ok === expected,
    STEP_MS,
    200,
  );
}

beforeAll(async () => {
  env = await sharedEnvtest();
  cm = await sharedCertManager(env);
  ns = await env.namespace('rotation');
  dir = await mkdtemp(join(tmpdir(), 'trellis-rotation-'));
  await issue(cm.issuerName, GREETER_ID, 'greeter');
  await issue(cm.issuerName, CLIENT_ID, 'client');
  await put('ca.crt', cm.rootPem);
  t = await startTestServer({ classify: classifyNode });
  const watched = { refresh: '1s' };
  server = await startXdsServer({
    xdsServer: t.address,
    nodeId: `greeter-0.${NS}`,
    nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: NS, POD_NAME: 'greeter-0' },
    name: 'beta',
    xdsCredentials: true,
    certificateProviders: fileProviders(dir, 'greeter', watched),
  });
  expect(t.cache.set(proxyClassOf(PROXY), translateProxyless(strictMesh(server.port), PROXY).resources)).toEqual([]);
  t.cache.markReady();
  caller = await startXdsClient({
    xdsServer: t.address,
    nodeId: `client-0.${NS}`,
    nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: NS, POD_NAME: 'client-0' },
    target: TARGET,
    xdsCredentials: true,
    certificateProviders: fileProviders(dir, 'client', watched),
  });
  expect(await caller.callUntilOk(30_000)).toBe('beta:hello');
}, 120_000);

afterAll(async () => {
  await Promise.all([...probes].map((p) => p.close()));
  await caller?.close();
  await server?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('rotating certificates and the CA under load (proxyless mTLS, STRICT)', () => {
  it('adds the new root, reissues every leaf from the new CA, drops the old root: not one call fails', async () => {
    const tally: CallTally = { ok: {}, errors: {} };
    let rotating = true;
    const calling = (async () => {
      while (rotating) {
        const part = await caller.callMany(10, { deadlineMs: 5000 });
        for (const [k, n] of Object.entries(part.ok)) tally.ok[k] = (tally.ok[k] ?? 0) + n;
        for (const [k, n] of Object.entries(part.errors)) tally.errors[k] = (tally.errors[k] ?? 0) + n;
      }
    })();
    try {
      const next = await cm.newCaIssuer(`rotation-${ns}`);
      await put('ca2.crt', next.rootPem);
      await issue(next.issuerName, `spiffe://cluster.local/ns/${NS}/sa/probe`, 'probe2');
      await issue(cm.issuerName, `spiffe://cluster.local/ns/${NS}/sa/probe`, 'probe1');

      // 1. The bundle holds both roots: the server takes a client certificate from the new CA.
      await put('ca.crt', cm.rootPem + next.rootPem);
      await until('the server trusts the new root', 'probe2', 'ca.crt', true);
      // 2. Every leaf from the new CA: a client that trusts only the new root accepts the server.
      await issue(next.issuerName, GREETER_ID, 'greeter');
      await issue(next.issuerName, CLIENT_ID, 'client');
      await until('the server presents its new certificate', 'probe2', 'ca2.crt', true);
      // 3. The old root dropped: the server refuses a client certificate from the old CA (which it took until now).
      expect(await probeSucceeds('probe1', 'ca2.crt')).toBe(true);
      await put('ca.crt', next.rootPem);
      await until('the server no longer trusts the old root', 'probe1', 'ca2.crt', false);
      // A new connection of the caller's, with its new files, is served too.
      expect(await probeSucceeds('client', 'ca.crt')).toBe(true);
    } finally {
      rotating = false;
      await calling;
    }
    expect(tally.errors).toEqual({});
    expect(tally.ok['beta:hello']).toBeGreaterThan(0);
  }, 300_000);
});
