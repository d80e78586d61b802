/**
 * Mutual TLS for proxyless gRPC (gRFC A29) against the real thing: grpc-js-xds clients and an
 * xDS-enabled server, each in its own process with XdsChannelCredentials / XdsServerCredentials and
 * a bootstrap whose `certificate_providers.default` is a `file_watcher` on certificates made here by
 * openssl (a CA; the server's with URI SAN spiffe://cluster.local/ns/default/sa/greeter, the
 * client's with .../sa/client), configured by an in-process ADS server serving translateProxyless's
 * output for a model where the service is STRICT.
 *
 * What it shows: both accept (ACK) the TLS cluster and listener; a call with mTLS succeeds; a
 * plaintext client is refused by the server; a client that expects another identity refuses the
 * server; and a client whose bootstrap has no certificate provider NACKs the cluster, with the
 * message the README quotes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyNode, proxyClassOf } from '../../src/translate/proxy.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import type { Translation } from '../../src/translate/translation.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { fileProviders, makePki, GREETER_ID, NS, strictMesh } from './mtls-support.ts';
import { directSayHello, startXdsClient, startXdsServer, XdsCallError, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';

const PROXY = { mode: 'proxyless', namespace: NS } as const;

let dir: string;
let t: TestServer;
let server: XdsServerProcess;
let translation: Translation;
const clients: XdsClientProcess[] = [];
/** NACKs the server saw, by node id. */
const nacks: { id: string; message: string }[] = [];

const providers = (name: string) => fileProviders(dir, name);

function node(pod: string) {
  return { xdsServer: t.address, nodeId: `${pod}.${NS}`, nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: NS, POD_NAME: pod } };
}

async function client(pod: string, target: string, opts: { certificates?: string; xdsCredentials?: boolean }): Promise<XdsClientProcess> {
  const c = await startXdsClient({
    ...node(pod),
    target,
    ...(opts.certificates ? { certificateProviders: providers(opts.certificates) } : {}),
    ...(opts.xdsCredentials ? { xdsCredentials: true } : {}),
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<XdsCallError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof XdsCallError) return err;
    throw err;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-mtls-'));
  await makePki(dir, { greeter: GREETER_ID, client: `spiffe://cluster.local/ns/${NS}/sa/client` });
  t = await startTestServer({ classify: classifyNode });
  t.events.on('nacked', (_kind: unknown, id: unknown, message: unknown) => nacks.push({ id: String(id), message: String(message) }));
  server = await startXdsServer({ ...node('greeter-0'), name: 'beta', xdsCredentials: true, certificateProviders: providers('greeter') });
  translation = translateProxyless(strictMesh(server.port), PROXY);
  expect(t.cache.set(proxyClassOf(PROXY), translation.resources)).toEqual([]);
  t.cache.markReady();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('proxyless gRPC with mutual TLS (STRICT)', () => {
  it('the translation asks for it: a TLS cluster and a listener that requires a client certificate', () => {
    expect(translation.diagnostics).toEqual([]);
    const cluster = translation.resources.cluster.find((c) => c.name === 'outbound|7070||greeter.default.svc.cluster.local');
    expect(JSON.stringify(cluster?.message.transport_socket)).toContain(GREETER_ID);
    const listener = translation.resources.listener.find((l) => l.name === server.listenerName);
    expect(listener?.message.filter_chains?.[0]?.transport_socket?.name).toBe('envoy.transport_sockets.tls');
  });

  it('the xDS-enabled server accepts its listener and serves', async () => {
    await server.waitServing(20_000);
    expect(nacks.filter((n) => n.id === 'greeter-0.default')).toEqual([]);
  });

  it('a client with XdsChannelCredentials and its certificate calls it over mTLS', async () => {
    const c = await client('client-mtls', 'xds:///greeter.default.svc.cluster.local:7070', { certificates: 'client', xdsCredentials: true });
    expect(await c.callUntilOk(20_000)).toBe('beta:hello');
    expect(await c.callMany(3)).toEqual({ ok: { 'beta:hello': 3 }, errors: {} });
    expect(nacks.filter((n) => n.id === 'client-mtls.default')).toEqual([]);
  });

  it('a plaintext client is refused: through xDS (insecure credentials), and dialling the port directly', async () => {
    const c = await client('client-plain', 'xds:///greeter.default.svc.cluster.local:7070', { certificates: 'client' });
    const err = await failure(c.call({ deadlineMs: 3000, waitForReady: false }));
    // UNAVAILABLE after the config was in and an endpoint picked: the server ends a connection that does not speak TLS.
    expect([err.code, err.details]).toEqual([14, expect.stringMatching(/round_robin: .*Failed to connect/)]);
    expect(nacks.filter((n) => n.id === 'client-plain.default')).toEqual([]); // it accepted the config, it just is not secure
    await expect(directSayHello(server.address, 'x', 3000)).rejects.toMatchObject({ code: 14 });
  });

  it('a client that expects another identity refuses the server’s certificate (match_subject_alt_names is enforced)', async () => {
    const c = await client('client-impostor', 'xds:///impostor.default.svc.cluster.local:7071', { certificates: 'client', xdsCredentials: true });
    const err = await failure(c.call({ deadlineMs: 3000, waitForReady: false }));
    expect([err.code, err.details]).toEqual([14, expect.stringContaining('No matching subject alternative name found in certificate')]);
    expect(nacks.filter((n) => n.id === 'client-impostor.default')).toEqual([]);
  });

  it('a client whose bootstrap has no certificate provider NACKs the TLS cluster, naming the missing instance', async () => {
    const nacked = t.next('nacked');
    const c = await client('client-nobootstrap', 'xds:///greeter.default.svc.cluster.local:7070', { xdsCredentials: true });
    void c.call({ deadlineMs: 2000 }).catch(() => undefined);
    const [kind, id, message] = await nacked;
    expect([kind, id]).toEqual(['cluster', 'client-nobootstrap.default']);
    expect(String(message)).toContain('Unmatched UpstreamTlsContext.tls_certificate_provider_instance.instance_name: default');
  });
});
