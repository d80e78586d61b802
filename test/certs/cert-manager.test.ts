/**
 * Workload certificates from the real cert-manager (controller and webhook from ../shared/cert-manager)
 * against a real API server, Trellis acting as a ServiceAccount bound to exactly KUBE_RBAC_RULES:
 * a request as the issue describes it, issued and deleted; denial, a missing issuer and cert-manager
 * stopped, with the last certificate serving and the error on record; leftovers deleted at start.
 */
import { once } from 'node:events';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Server } from '@grpc/grpc-js';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyAndCsr } from '../../src/certs/csr.ts';
import { CertificateManager } from '../../src/certs/manager.ts';
import { CertificateRequests, MANAGED_BY, REPLICA_LABEL, type RequestSettings } from '../../src/certs/requests.ts';
import { ServingCertificate } from '../../src/certs/serving.ts';
import { RequestWatch } from '../../src/certs/watch.ts';
import { parseTrustBundle, uriSans } from '../../src/certs/verify.ts';
import { startCertManager, type CertificateRequest, type CertManager } from '../support/cert-manager.ts';
import { apiServerMetrics, samples } from '../support/apiserver-metrics.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import { pollFor } from '../support/poll.ts';
import { Logs, type LogLine } from '../support/logs.ts';
import { trellisKubeConfig } from '../sources/kube-support.ts';

const ID = 'spiffe://cluster.local/ns/shop/sa/web';

/** A CertificateRequest with the fields these tests read beyond the support's type. */
type Request = CertificateRequest & { metadata: { labels?: Record<string, string> }; spec: { isCA?: boolean } };
const GROUP = { group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests' };

let env: Envtest;
let cm: CertManager;
let admin: CustomObjectsApi;

beforeAll(async () => {
  env = await startEnvtest();
  cm = await startCertManager(env);
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  admin = kc.makeApiClient(CustomObjectsApi);
}, 120_000);
afterAll(async () => {
  await cm?.stop();
  await env?.stop();
});

interface Trellis {
  readonly namespace: string;
  readonly requests: CertificateRequests;
  readonly logs: Logs;
  manager(opts?: { random?: () => number }): CertificateManager;
  list(): Promise<CertificateRequest[]>;
}

const managers: CertificateManager[] = [];
afterAll(() => managers.forEach((m) => m.close()));

/** Trellis in a fresh namespace of its own, as its ServiceAccount. */
async function trellis(settings: Partial<Omit<RequestSettings, 'kubeConfig' | 'logger' | 'namespace'>> = {}): Promise<Trellis> {
  const namespace = await env.namespace('trellis');
  const logs = new Logs();
  const logger = pino({ level: 'debug' }, { write: logs.write });
  const requests = new CertificateRequests({
    kubeConfig: await trellisKubeConfig(env, namespace),
    namespace,
    issuer: { kind: 'ClusterIssuer', name: cm.issuerName, group: 'cert-manager.io' },
    durationSeconds: 3600,
    timeoutMs: 30_000,
    replica: 'trellis-0',
    logger,
    ...settings,
  });
  const list = async () => ((await admin.listNamespacedCustomObject({ ...GROUP, namespace })) as { items: CertificateRequest[] }).items;
  const manager = (opts: { random?: () => number } = {}) => {
    const m = new CertificateManager({
      requests,
      roots: () => parseTrustBundle(cm.rootPem),
      logger,
      backoff: { initialMs: 500, maxMs: 2_000 },
      ...opts,
    });
    managers.push(m);
    return m;
  };
  return { namespace, requests, logs, manager, list };
}

/** `m` once it has issued the identity's first certificate. */
async function issuedBy(m: CertificateManager): Promise<CertificateManager> {
  const issued = once(m, 'changed');
  m.want(ID);
  await issued;
  return m;
}

/** Watches of CertificateRequests in one namespace the API server holds open now (Trellis's; cert-manager watches cluster-wide). */
async function openWatches(): Promise<number> {
  const open = samples(await apiServerMetrics(env), 'apiserver_longrunning_requests').filter(
    (s) => s.labels.verb === 'WATCH' && s.labels.resource === 'certificaterequests' && s.labels.scope === 'namespace',
  );
  return open.reduce((n, s) => n + s.value, 0);
}

/** The first log line that `test` holds of, once written. */
async function seen(logs: Logs, what: string, test: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
  await logs.until(what, (lines) => lines.some(test), timeoutMs);
  const line = logs.lines.find(test);
  if (!line) throw new Error(`no log line: ${what}`);
  return line;
}

/** The request Trellis made last (approver off: it waits there for the test). */
async function pendingRequest(t: Trellis): Promise<Request> {
  const before = t.logs.lines.length;
  const created = (l: LogLine) => l.msg.startsWith('CertificateRequest created') && t.logs.lines.indexOf(l) >= before - 1;
  await t.logs.until('a CertificateRequest created', (lines) => lines.some(created), 30_000);
  const name = String([...t.logs.lines].reverse().find((l) => l.msg.startsWith('CertificateRequest created'))?.request);
  return (await admin.getNamespacedCustomObject({ ...GROUP, namespace: t.namespace, name })) as Request;
}

describe('a workload certificate from cert-manager', () => {
  it('is asked for as the issue says, waits for an approver (Trellis never approves), is served once checked, and the request is deleted', async () => {
    await cm.stopController();
    await cm.startController({ approver: false });
    const t = await trellis();
    const m = t.manager();
    const changed = once(m, 'changed');
    m.want(ID);
    const cr = await pendingRequest(t);
    expect(cr.metadata.labels).toMatchObject({
      ...MANAGED_BY,
      [REPLICA_LABEL]: 'trellis-0',
      'trellis.dev/namespace': 'shop',
      'trellis.dev/service-account': 'web',
    });
    expect(cr.metadata.annotations?.['trellis.dev/identity']).toBe(ID);
    expect(cr.spec).toMatchObject({
      issuerRef: { kind: 'ClusterIssuer', name: cm.issuerName, group: 'cert-manager.io' },
      duration: '1h0m0s',
      usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
    });
    expect(cr.spec.isCA ?? false).toBe(false);
    const csr = Buffer.from(cr.spec.request, 'base64').toString();
    expect(csr).toContain('BEGIN CERTIFICATE REQUEST');
    expect(m.certz()).toMatchObject([{ identity: ID, state: 'issuing' }]);

    await cm.approve(t.namespace, cr.metadata.name);
    expect(await changed).toEqual([ID]);
    const served = m.certificate(ID);
    const leaf = new X509Certificate(served?.chainPem ?? '');
    expect(uriSans(leaf)).toEqual([ID]);
    expect(leaf.verify(new X509Certificate(cm.rootPem).publicKey)).toBe(true);
    expect(
      leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(createPublicKey(served?.privateKeyPem ?? '').export({ type: 'spki', format: 'der' })),
    ).toBe(true);
    expect(m.certz()).toMatchObject([{ identity: ID, state: 'ready', serial: leaf.serialNumber }]);
    await t.requests.deleted();
    expect(await t.list()).toEqual([]);
    await cm.stopController();
    await cm.startController({ approver: true });
  }, 90_000);

  it('denied: the error names request, identity, reason and message in certz and the log; the current certificate keeps serving', async () => {
    const t = await trellis();
    const m = await issuedBy(t.manager());
    const serial = m.certificate(ID)?.serial;
    await cm.stopController();
    await cm.startController({ approver: false });
    m.renewAll();
    const cr = await pendingRequest(t);
    await cm.deny(t.namespace, cr.metadata.name, 'not in this mesh');
    await seen(t.logs, 'the denial', (l) => l.reason === 'Denied');
    const [entry] = m.certz();
    expect(entry).toMatchObject({ identity: ID, state: 'renewing', serial, lastError: { request: cr.metadata.name, reason: 'Denied' } });
    expect(entry?.lastError?.message).toContain('not in this mesh');
    expect(m.certificate(ID)?.serial).toBe(serial);
    const line = t.logs.lines.find((l) => l.msg.includes(`no certificate for ${ID}`));
    expect(line).toMatchObject({ level: 40, identity: ID, request: cr.metadata.name, reason: 'Denied' });
    expect(line?.msg).toContain(`serial ${serial} keeps serving`);
    await cm.stopController();
    await cm.startController({ approver: true });
  }, 90_000);

  it('a missing issuer: the request times out saying what it waits for, and is deleted; retries back off', async () => {
    const t = await trellis({ issuer: { kind: 'ClusterIssuer', name: 'no-such-issuer', group: 'cert-manager.io' }, timeoutMs: 4_000 });
    const m = t.manager();
    m.want(ID);
    await seen(t.logs, 'a timeout', (l) => l.reason === 'Timeout');
    const [entry] = m.certz();
    expect(entry).toMatchObject({ identity: ID, state: 'failing', lastError: { reason: 'Timeout' } });
    expect(entry?.lastError?.message).toMatch(/no outcome within 4 s: .*no-such-issuer/);
    expect(entry?.nextAttempt).toBeDefined();
    m.close();
    await t.requests.deleted();
    expect(await t.list()).toEqual([]);
  }, 90_000);

  it('cert-manager stopped: renewal times out, the current certificate keeps serving, and the next attempt after it is back succeeds', async () => {
    const t = await trellis({ timeoutMs: 3_000 });
    const m = await issuedBy(t.manager());
    const serial = m.certificate(ID)?.serial;
    await cm.stopController();
    m.renewAll();
    await seen(t.logs, 'a timeout', (l) => l.reason === 'Timeout');
    expect(m.certz()).toMatchObject([{ state: 'renewing', serial, lastError: { reason: 'Timeout' } }]);
    expect(m.certificate(ID)?.serial).toBe(serial);
    const renewed = once(m, 'changed');
    await cm.startController({ approver: true });
    await renewed;
    expect(m.certificate(ID)?.serial).not.toBe(serial);
    expect(m.certz()).toMatchObject([{ state: 'ready' }]);
    expect(m.certz()[0]?.lastError).toBeUndefined();
  }, 120_000);

  it('renews at 2/3 of a real lifetime (duration 1m), on its own', async () => {
    const t = await trellis({ durationSeconds: 60 });
    const m = await issuedBy(t.manager({ random: () => 0 }));
    const first = new X509Certificate(m.certificate(ID)?.chainPem ?? '');
    const notBefore = Date.parse(first.validFrom);
    const lifetime = Date.parse(first.validTo) - notBefore;
    expect(lifetime).toBe(60_000);
    expect(m.certz()[0]?.renewAt).toBe(new Date(notBefore + (lifetime * 2) / 3).toISOString());
    const renewed = once(m, 'changed');
    await renewed;
    expect(Date.now()).toBeGreaterThanOrEqual(notBefore + (lifetime * 2) / 3);
    expect(m.certificate(ID)?.serial).not.toBe(first.serialNumber);
  }, 120_000);
});

describe("the secure xDS port's certificate", () => {
  it('serves TLS on a port bound after the certificate was issued (grpc-js reads the state before it watches)', async () => {
    const m = (await trellis()).manager();
    const issued = once(m, 'changed');
    const serving = new ServingCertificate(m, ID, ['trellis.shop.svc'], () => cm.rootPem);
    await issued;
    expect(serving.ready).toBe(true);
    const server = new Server();
    try {
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', serving.credentials, (err, p) => (err ? reject(err) : resolve(p))),
      );
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: cm.rootPem, servername: 'trellis.shop.svc', ALPNProtocols: ['h2'] });
      try {
        await once(socket, 'secureConnect');
        expect(socket.authorized).toBe(true);
        expect(uriSans(new X509Certificate(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)))).toEqual([ID]);
      } finally {
        socket.destroy();
      }
    } finally {
      server.forceShutdown();
    }
  }, 60_000);
});

describe('waiting on requests', () => {
  it("waits on all of a replica's requests with one watch, closed once none waits", async () => {
    // The managers of the tests above stop asking (the one renewing every 40 s, say).
    for (const m of managers.splice(0)) m.close();
    await pollFor('no watch left open', openWatches, (n) => n === 0, 30_000);
    const t = await trellis({ issuer: { kind: 'ClusterIssuer', name: 'no-such-issuer', group: 'cert-manager.io' }, timeoutMs: 60_000 });
    const stop = new AbortController();
    const ids = [0, 1, 2, 3, 4].map((i) => `spiffe://cluster.local/ns/shop/sa/web-${i}`);
    const outcomes = Promise.all(ids.map((id) => t.requests.request(id, newKeyAndCsr(id).csrPem, stop.signal)));
    await pollFor(
      'five requests created',
      () => t.list(),
      (l) => l.length === 5,
      30_000,
    );
    await pollFor('the watch open', openWatches, (n) => n > 0, 30_000);
    expect(await openWatches()).toBe(1);
    stop.abort();
    expect((await outcomes).map((o) => o.kind)).toEqual(['Error', 'Error', 'Error', 'Error', 'Error']);
    await t.requests.deleted();
    expect(await t.list()).toEqual([]);
    await pollFor('the watch closed', openWatches, (n) => n === 0, 30_000);
  }, 90_000);

  it('a request deleted before it is issued ends as Deleted, and says so', async () => {
    const t = await trellis({ issuer: { kind: 'ClusterIssuer', name: 'no-such-issuer', group: 'cert-manager.io' }, timeoutMs: 60_000 });
    const outcome = t.requests.request(ID, newKeyAndCsr(ID).csrPem, new AbortController().signal);
    const [cr] = await pollFor(
      'the request created',
      () => t.list(),
      (l) => l.length === 1,
      30_000,
    );
    await admin.deleteNamespacedCustomObject({ ...GROUP, namespace: t.namespace, name: cr?.metadata.name ?? '' });
    expect(await outcome).toMatchObject({ kind: 'Deleted', request: cr?.metadata.name, message: expect.stringContaining('deleted before it was issued') });
  }, 90_000);
});

describe('the watch of requests', () => {
  it('tells a follower its request was deleted before the watch listed them (no event would say so)', async () => {
    const namespace = await env.namespace('trellis');
    const body = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'CertificateRequest',
      metadata: { generateName: 'gone-', labels: { [REPLICA_LABEL]: 'gone' } },
      spec: { request: Buffer.from(newKeyAndCsr(ID).csrPem).toString('base64'), issuerRef: { kind: 'ClusterIssuer', name: 'no-such-issuer' } },
    };
    const created = (await admin.createNamespacedCustomObject({ ...GROUP, namespace, body })) as Request;
    await admin.deleteNamespacedCustomObject({ ...GROUP, namespace, name: created.metadata.name });
    const kc = new KubeConfig();
    kc.loadFromString(env.adminKubeconfig);
    const watch = new RequestWatch(kc, `/apis/cert-manager.io/v1/namespaces/${namespace}/certificaterequests`, `${REPLICA_LABEL}=gone`);
    let unfollow: (() => void) | undefined;
    const seen = await new Promise((resolve) => (unfollow = watch.follow(created.metadata.name, resolve)));
    unfollow?.();
    expect(seen).toBe('deleted');
  }, 60_000);
});

describe('leftovers', () => {
  it("deletes this replica's requests and any older than a wait could last, and leaves another replica's fresh ones", async () => {
    const t = await trellis({ timeoutMs: 60_000 });
    const make = (replica: string) =>
      admin.createNamespacedCustomObject({
        ...GROUP,
        namespace: t.namespace,
        body: {
          apiVersion: 'cert-manager.io/v1',
          kind: 'CertificateRequest',
          metadata: { generateName: 'trellis-', labels: { ...MANAGED_BY, [REPLICA_LABEL]: replica } },
          spec: { request: Buffer.from(newKeyAndCsr(ID).csrPem).toString('base64'), issuerRef: { name: 'no-such-issuer', kind: 'ClusterIssuer' } },
        },
      }) as Promise<CertificateRequest>;
    const mine = await make('trellis-0');
    const theirs = await make('trellis-1');
    expect(await t.requests.deleteLeftovers()).toBe(1);
    expect((await t.list()).map((c) => c.metadata.name)).toEqual([theirs.metadata.name]);
    expect(mine.metadata.name).not.toBe(theirs.metadata.name);
    // Two wait times later, the other replica is taken to be gone.
    expect(await t.requests.deleteLeftovers(Date.now() + 121_000)).toBe(1);
    await t.requests.deleted();
    expect(await t.list()).toEqual([]);
  }, 60_000);
});
