/**
 * The secure xDS port of `trellis serve --issuer`, against a real API server (TokenReview, TokenRequest)
 * and the real cert-manager: TLS with Trellis's own certificate, proxies authenticated by a
 * ServiceAccount token (audience trellis) or a client certificate of the mesh, each served the
 * Secrets of its own identity only (`default`, `ROOTCA`); wrong credentials refused with the right
 * status; the plaintext port serves no Secrets and /debug/syncz says which streams are authenticated.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uriSans } from '../../src/certs/verify.ts';
import type { ServeHandle } from '../../src/pipeline/index.ts';
import { SotwClient, type ConnectOptions } from '../support/ads-client.ts';
import { sharedCertManager, type CertManager } from '../support/cert-manager.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import type { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { SDS } from '../support/resources.ts';
import { serviceAccountToken, sidecarNode } from '../support/workloads.ts';
import { ownCertificateIssued, serveWithIssuer } from './support.ts';

const WAIT_MS = 30_000;

let env: Envtest;
let cm: CertManager;
let core: CoreV1Api;
let dir: string;
let home: string;
let shop: string;
let handle: ServeHandle;
let logs: Logs;
const clients: SotwClient[] = [];

beforeAll(async () => {
  env = await sharedEnvtest();
  cm = await sharedCertManager(env);
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  dir = await mkdtemp(join(tmpdir(), 'trellis-secure-xds-'));
  home = await env.namespace('trellis');
  shop = await env.namespace('shop');
  for (const name of ['web', 'admin']) await core.createNamespacedServiceAccount({ namespace: shop, body: { metadata: { name } } });
  await writeFile(join(dir, 'bundle.pem'), cm.rootPem);
  const served = await serveWithIssuer(env, cm, dir, home, [home, shop], join(dir, 'bundle.pem'));
  handle = served.handle;
  logs = served.logs;
  await ownCertificateIssued(logs, home);
}, 120_000);
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await handle?.stop();
  // Not made when beforeAll failed before it.
  if (dir) await rm(dir, { recursive: true, force: true });
});

const secure = () => `127.0.0.1:${handle.running.xdsSecurePort}`;
const plaintext = () => `127.0.0.1:${handle.running.xdsPort}`;
const debug = () => `http://127.0.0.1:${handle.running.debugPort}`;
const tls = (): NonNullable<ConnectOptions['tls']> => ({ rootsPem: cm.rootPem, serverName: `trellis.${home}.svc` });

/** A token from the TokenRequest API, as a projected volume would hold it. */
const token = (serviceAccount: string, audience?: string): Promise<string> => serviceAccountToken(core, shop, serviceAccount, audience);
const node = (pod: string, serviceAccount: string) => sidecarNode(pod, shop, serviceAccount);

async function connect(address: string, opts: ConnectOptions): Promise<SotwClient> {
  const c = await SotwClient.connect(address, opts);
  clients.push(c);
  return c;
}

type Held = Map<string, Record<string, unknown>>;

/**
 * Subscribes to both Secrets and waits until both have arrived (ROOTCA at once, `default` once issued):
 * SDS, like EDS and RDS, sends only the resources that changed, so what the proxy holds is collected.
 */
async function secrets(c: SotwClient): Promise<Held> {
  c.send({ typeUrl: SDS, resourceNames: ['ROOTCA', 'default'] });
  return held(c, new Map(), (h) => h.has('default') && h.has('ROOTCA'));
}

/** Reads (and ACKs) Secret responses into `into` until `until` holds of what the proxy holds. */
async function held(c: SotwClient, into: Held, until: (h: Held) => boolean): Promise<Held> {
  const deadline = Date.now() + WAIT_MS;
  while (!until(into)) {
    const r = await c.next(SDS, Math.max(1, deadline - Date.now()));
    c.ack(r);
    for (const x of r.resources) into.set(x.name, x.body);
  }
  return into;
}

const silentProxies = (l: { msg: string }): boolean => l.msg.includes('did not acknowledge the new trust bundle');

function material(held: Held): { chain: string; key: string; roots: string } {
  const get = (name: string) => held.get(name) as Record<string, Record<string, Record<string, string>>> | undefined;
  const cert = get('default')?.tls_certificate;
  return {
    chain: cert?.certificate_chain?.inline_string ?? '',
    key: cert?.private_key?.inline_string ?? '',
    roots: get('ROOTCA')?.validation_context?.trusted_ca?.inline_string ?? '',
  };
}

/** What /debug/syncz says of a proxy's stream, once it lists it (the view is cached for a second). */
async function authenticatedAs(proxyId: string): Promise<unknown> {
  type Syncz = { proxies: { proxyId: string; authenticated: unknown }[] };
  const syncz = await pollFor(
    `${proxyId} in /debug/syncz`,
    async () => (await (await fetch(`${debug()}/debug/syncz`)).json()) as Syncz,
    (v) => v.proxies.some((p) => p.proxyId === proxyId),
  );
  return syncz.proxies.find((p) => p.proxyId === proxyId)?.authenticated;
}

describe('the secure xDS port', () => {
  it('serves a proxy authenticated by its token the Secrets of its own identity: its certificate, its key, the bundle', async () => {
    const c = await connect(secure(), { node: node('web-0', 'web'), tls: tls(), token: await token('web') });
    const { chain, key, roots } = material(await secrets(c));
    const leaf = new X509Certificate(chain);
    expect(uriSans(leaf)).toEqual([`spiffe://cluster.local/ns/${shop}/sa/web`]);
    expect(roots).toBe(cm.rootPem);
    expect(leaf.verify(new X509Certificate(roots).publicKey)).toBe(true);
    expect(
      createPublicKey(key)
        .export({ type: 'spki', format: 'der' })
        .equals(leaf.publicKey.export({ type: 'spki', format: 'der' })),
    ).toBe(true);
    expect(await authenticatedAs(`web-0.${shop}`)).toEqual({ identity: `spiffe://cluster.local/ns/${shop}/sa/web`, via: 'token' });
    // What the proxy holds, as the debug endpoint dumps it: the certificate, never the key.
    const dump = await (await fetch(`${debug()}/debug/config_dump?proxy=web-0.${shop}`)).text();
    expect(dump).toContain('BEGIN CERTIFICATE');
    expect(dump).toContain('[redacted]');
    expect(dump).not.toContain('PRIVATE KEY');
  }, 60_000);

  it('authenticates a client certificate of the mesh, and serves that identity', async () => {
    const web = await connect(secure(), { node: node('web-1', 'web'), tls: tls(), token: await token('web') });
    const { chain, key } = material(await secrets(web));
    const byCert = await connect(secure(), { node: node('web-2', 'web'), tls: { ...tls(), certChainPem: chain, privateKeyPem: key } });
    expect(uriSans(new X509Certificate(material(await secrets(byCert)).chain))).toEqual([`spiffe://cluster.local/ns/${shop}/sa/web`]);
  }, 60_000);

  it.each([
    ['no credentials', async (): Promise<ConnectOptions> => ({ node: node('web-0', 'web'), tls: tls() }), Status.UNAUTHENTICATED, /no credentials/],
    [
      'a token of another audience',
      async () => ({ node: node('web-0', 'web'), tls: tls(), token: await token('web', 'api') }),
      Status.UNAUTHENTICATED,
      /audience trellis/,
    ],
    [
      'a forged token',
      async () => ({ node: node('web-0', 'web'), tls: tls(), token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' }),
      Status.UNAUTHENTICATED,
      /not valid/,
    ],
    [
      "another service account's node",
      async () => ({ node: node('admin-0', 'admin'), tls: tls(), token: await token('web') }),
      Status.PERMISSION_DENIED,
      /runs as service account admin, the credentials are of web/,
    ],
  ])(
    'refuses %s',
    async (_what, opts, code, message) => {
      const c = await connect(secure(), await opts());
      c.send({ typeUrl: SDS, resourceNames: ['default'] });
      const status = await c.closed();
      expect(status.code).toBe(code);
      expect(status.details).toMatch(message);
    },
    60_000,
  );

  it('refuses an expired token, where the same token unexpired is accepted', async () => {
    const uid = (await core.readNamespacedServiceAccount({ name: 'web', namespace: shop })).metadata?.uid ?? '';
    const now = Math.floor(Date.now() / 1000);
    const signed = (exp: number) => env.signServiceAccountToken(shop, 'web', uid, { aud: ['trellis'], iat: now - 1200, nbf: now - 1200, exp });
    const valid = await connect(secure(), { node: node('web-6', 'web'), tls: tls(), token: await signed(now + 600) });
    expect(uriSans(new X509Certificate(material(await secrets(valid)).chain))).toEqual([`spiffe://cluster.local/ns/${shop}/sa/web`]);
    const expired = await connect(secure(), { node: node('web-7', 'web'), tls: tls(), token: await signed(now - 60) });
    expired.send({ typeUrl: SDS, resourceNames: ['default'] });
    const status = await expired.closed();
    expect(status.code).toBe(Status.UNAUTHENTICATED);
    expect(status.details).toMatch(/expired/);
  }, 60_000);

  it("two proxies' served Secrets make Node TLS sockets that complete mutual TLS, each seeing the other's SPIFFE ID", async () => {
    const web = material(await secrets(await connect(secure(), { node: node('web-4', 'web'), tls: tls(), token: await token('web') })));
    const admin = material(await secrets(await connect(secure(), { node: node('admin-4', 'admin'), tls: tls(), token: await token('admin') })));
    const server = createTlsServer({ cert: admin.chain, key: admin.key, ca: admin.roots, requestCert: true, rejectUnauthorized: true });
    const serverSaw = new Promise<string | undefined>((resolve) => server.on('secureConnection', (s) => resolve(s.getPeerCertificate().subjectaltname)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const socket = tlsConnect({ host: '127.0.0.1', port, cert: web.chain, key: web.key, ca: web.roots, checkServerIdentity: () => undefined });
      await once(socket, 'secureConnect');
      expect(socket.authorized).toBe(true);
      expect(socket.getPeerCertificate().subjectaltname).toBe(`URI:spiffe://cluster.local/ns/${shop}/sa/admin`);
      expect(await serverSaw).toBe(`URI:spiffe://cluster.local/ns/${shop}/sa/web`);
      socket.destroy();
    } finally {
      server.close();
    }
  }, 60_000);

  it('pushes a new bundle (ROOTCA), then — once it is acknowledged — a reissued certificate (default) on the open stream when the bundle changes', async () => {
    const c = await connect(secure(), { node: node('web-5', 'web'), tls: tls(), token: await token('web') });
    const first = await secrets(c);
    const serial = new X509Certificate(material(first).chain).serialNumber;
    const extra = await cm.newCaIssuer(`extra-${home}`);
    await writeFile(join(dir, 'next.pem'), cm.rootPem + extra.rootPem);
    await rename(join(dir, 'next.pem'), join(dir, 'bundle.pem'));
    // The new ROOTCA comes first; while this proxy has not acknowledged it, no certificate is being reissued.
    const pushed = await c.next(SDS, WAIT_MS);
    expect(pushed.resources.map((x) => x.name)).toEqual(['ROOTCA']);
    expect(handle.certificates?.manager.certz().filter((e) => e.state !== 'ready')).toEqual([]);
    for (const x of pushed.resources) first.set(x.name, x.body);
    c.ack(pushed);
    const rotated = await held(c, first, (h) => new X509Certificate(material(h).chain).serialNumber !== serial);
    expect(material(rotated).roots).toBe(cm.rootPem + extra.rootPem);
    expect(logs.lines.some(silentProxies)).toBe(false);
    await writeFile(join(dir, 'next.pem'), cm.rootPem);
    await rename(join(dir, 'next.pem'), join(dir, 'bundle.pem'));
    const reverted = await held(c, rotated, (h) => !material(h).roots.includes(extra.rootPem));
    expect(material(reverted).roots).toBe(cm.rootPem);
    // The certificates reissued for the bundle as it was: every identity's has started once this one's is here.
    const again = new X509Certificate(material(rotated).chain).serialNumber;
    await held(c, reverted, (h) => new X509Certificate(material(h).chain).serialNumber !== again);
  }, 90_000);

  it('reissues anyway, and says so, when a proxy never acknowledges the new ROOTCA (after 10 s)', async () => {
    const manager = handle.certificates?.manager;
    if (!manager) throw new Error('no certificates');
    // No reissue left in flight by an earlier test.
    while (manager.certz().some((e) => e.state !== 'ready')) await once(manager, 'changed');
    const c = await connect(secure(), { node: node('web-8', 'web'), tls: tls(), token: await token('web') });
    await secrets(c);
    const web = `spiffe://cluster.local/ns/${shop}/sa/web`;
    const serialOf = () => manager.certz().find((e) => e.identity === web)?.serial;
    const serial = serialOf();
    const extra = await cm.newCaIssuer(`silent-${home}`);
    await writeFile(join(dir, 'next.pem'), cm.rootPem + extra.rootPem);
    await rename(join(dir, 'next.pem'), join(dir, 'bundle.pem'));
    await c.next(SDS, WAIT_MS); // never acknowledged
    await logs.until('the warning about the silent proxy', (lines) => lines.some(silentProxies), WAIT_MS);
    expect(logs.lines.find(silentProxies)).toMatchObject({ level: 40, streams: 1 });
    while (serialOf() === serial) await once(manager, 'changed');
    await writeFile(join(dir, 'next.pem'), cm.rootPem);
    await rename(join(dir, 'next.pem'), join(dir, 'bundle.pem'));
  }, 90_000);

  it('the plaintext port serves no Secrets, and says its streams are unauthenticated', async () => {
    const c = await connect(plaintext(), { node: node('web-3', 'web') });
    c.send({ typeUrl: SDS, resourceNames: ['ROOTCA', 'default'] });
    const r = await c.next(SDS, WAIT_MS);
    expect(r.resources).toEqual([]);
    expect(await authenticatedAs(`web-3.${shop}`)).toBe(false);
  }, 60_000);
});
