/**
 * CSDS and Secrets: a proxy of the secure xDS port receives its identity's private key; client status
 * read on the plaintext port shows that Secret with the key redacted (held or rejected), and the secure
 * port serves no client status at all. The ADS server runs in process with a stand-in authenticator
 * (passed as a parameter) and a throwaway TLS certificate; the CSDS client is generated from the proto.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csdsImplementation, csdsServiceDefinition } from '../../src/debug/csds-service.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import type { PeerIdentity } from '../../src/xds/peer.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { SotwClient } from '../support/ads-client.ts';
import { configOf, CsdsClient, decoded } from '../support/csds-client.ts';
import { openPki, type Pki } from '../support/pki.ts';
import { pollFor } from '../support/poll.ts';
import { SDS } from '../support/resources.ts';

const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nTESTKEYMATERIAL\n-----END PRIVATE KEY-----\n';
const CHAIN = '-----BEGIN CERTIFICATE-----\nTESTCHAIN\n-----END CERTIFICATE-----\n';
const PEER: PeerIdentity = { identity: 'spiffe://cluster.local/ns/shop/sa/web', namespace: 'shop', serviceAccount: 'web', via: 'token' };
const node = (pod: string) => ({ id: `${pod}.shop`, cluster: 'web.shop', metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'shop', POD_NAME: pod } });

let pki: Pki;
let serverPem: string;
let ads: AdsServer;
let plaintext: string;
let secure: string;
const closers: { close(): void }[] = [];

beforeAll(async () => {
  pki = await openPki();
  const server = await pki.root('trellis', 'DNS:trellis');
  serverPem = server.certPem;
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serverPem), private_key: Buffer.from(server.keyPem) }], false);
  const cache = new SnapshotCache();
  const secrets = new SnapshotCache();
  const logger = pino({ level: 'silent' });
  ads = new AdsServer({ cache, secrets, classify: () => 'sidecar', logger, authenticate: () => Promise.resolve(PEER) });
  ads.servePlaintext(csdsServiceDefinition, csdsImplementation(ads, logger));
  plaintext = `127.0.0.1:${await ads.listen('127.0.0.1', 0)}`;
  secure = `127.0.0.1:${await ads.listenSecure('127.0.0.1', 0, credentials)}`;
  const tlsCertificate = { certificate_chain: { inline_string: CHAIN }, private_key: { inline_string: PRIVATE_KEY } };
  secrets.set(PEER.identity, { secret: [{ name: 'default', message: { name: 'default', tls_certificate: tlsCertificate } }] });
  cache.set('sidecar', { cluster: [] });
  cache.markReady();
}, 30_000);

afterAll(async () => {
  for (const c of closers) c.close();
  await ads?.close();
  await pki?.close();
});

function connect(pod: string): Promise<SotwClient> {
  return SotwClient.connect(secure, { node: node(pod), tls: { rootsPem: serverPem, serverName: 'trellis' }, token: 'stand-in' }).then((c) => {
    closers.push(c);
    return c;
  });
}

function csds(address = plaintext, tls?: { rootsPem: string; serverName: string }): CsdsClient {
  const c = new CsdsClient(address, tls);
  closers.push(c);
  return c;
}

describe('CSDS and Secrets', () => {
  it('shows a Secret a proxy acked with its certificate and without its private key', async () => {
    const proxy = await connect('web-0');
    proxy.subscribe(SDS, ['default']);
    const sent = await proxy.next(SDS, 15_000);
    expect(JSON.stringify(sent.resources[0]?.body)).toContain('TESTKEYMATERIAL'); // the proxy itself receives its key
    proxy.ack(sent);
    const res = await pollFor(
      'the ACK in CSDS',
      () => csds().fetch({ node_matchers: [{ node_id: { exact: 'web-0.shop' } }] }),
      (r) => configOf(r, 'web-0.shop').some((c) => c.client_status === 'ACKED'),
    );
    const secret = configOf(res, 'web-0.shop').find((c) => c.type_url === SDS);
    expect(secret?.name).toBe('default');
    expect(decoded(secret?.xds_config)).toEqual({
      name: 'default',
      tls_certificate: { certificate_chain: { inline_string: CHAIN }, private_key: { inline_string: '[redacted]' } },
    });
    expect(Buffer.from(JSON.stringify(res)).includes('TESTKEYMATERIAL')).toBe(false);
    expect(Buffer.from(secret?.xds_config?.value ?? []).includes('TESTKEYMATERIAL')).toBe(false);
  });

  it('shows a Secret a proxy rejected without its private key', async () => {
    const proxy = await connect('web-1');
    proxy.subscribe(SDS, ['default']);
    proxy.nack(await proxy.next(SDS, 15_000), 'bad key');
    const res = await pollFor(
      'the NACK in CSDS',
      () => csds().fetch({ node_matchers: [{ node_id: { exact: 'web-1.shop' } }] }),
      (r) => configOf(r, 'web-1.shop').some((c) => c.client_status === 'NACKED'),
    );
    const secret = configOf(res, 'web-1.shop').find((c) => c.type_url === SDS);
    expect(secret?.error_state?.details).toBe('bad key');
    expect(decoded(secret?.error_state?.failed_configuration)).toMatchObject({ tls_certificate: { private_key: { inline_string: '[redacted]' } } });
    expect(Buffer.from(secret?.error_state?.failed_configuration?.value ?? []).includes('TESTKEYMATERIAL')).toBe(false);
  });

  it('is not served on the secure port: a workload proxy cannot read the mesh there', async () => {
    const err = await csds(secure, { rootsPem: serverPem, serverName: 'trellis' })
      .fetch()
      .then(
        () => undefined,
        (e: unknown) => e as grpc.ServiceError,
      );
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
