/**
 * The real cert-manager against envtest: the CA ClusterIssuer signs a CertificateRequest for a SPIFFE
 * identity; with the approver off a request waits for approve() or ends with deny(); one cert-manager
 * per API server; stop() leaves the API server writable and a new start finds the same root.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { conditionOf, sharedCertManager, startCertManager, type CertificateRequest, type CertManager } from './cert-manager.ts';
import { sharedEnvtest, startEnvtest, type Envtest } from './envtest.ts';

const SPIFFE_ID = 'spiffe://cluster.local/ns/default/sa/foo';
const CR = { group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests' } as const;
const execFileP = promisify(execFile);

/** A CSR (PEM) with an empty subject whose only SAN is `uri`, for a fresh P-256 key (thrown away). */
async function csrFor(uri: string): Promise<string> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null'];
  const { stdout } = await execFileP('openssl', ['req', '-new', ...ec, '-subj', '/', '-addext', `subjectAltName=URI:${uri}`]);
  return stdout;
}

function admin(env: Envtest): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  return kc.makeApiClient(CustomObjectsApi);
}

/** Creates a CertificateRequest for SPIFFE_ID (1 h, TLS server and client usages) from `issuerName`. */
async function request(env: Envtest, namespace: string, name: string, issuerName: string): Promise<void> {
  const spec = {
    request: Buffer.from(await csrFor(SPIFFE_ID)).toString('base64'),
    issuerRef: { name: issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
    duration: '1h',
    usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  };
  await admin(env).createNamespacedCustomObject({
    ...CR,
    namespace,
    body: { apiVersion: 'cert-manager.io/v1', kind: 'CertificateRequest', metadata: { name }, spec },
  });
}

const pem = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
const issued = (cr: CertificateRequest) => conditionOf(cr, 'Ready')?.status === 'True';

describe('cert-manager (the real controller and webhook)', () => {
  let env: Envtest;
  let cm: CertManager;

  beforeAll(async () => {
    env = await sharedEnvtest();
    const t0 = Date.now();
    cm = await sharedCertManager(env);
    console.info(`cert-manager: started in ${Date.now() - t0} ms`);
  });

  it('the CA ClusterIssuer signs a request for a SPIFFE ID: the URI SAN kept, chained to rootPem, 1 h', async () => {
    const root = new X509Certificate(cm.rootPem);
    expect(root.ca).toBe(true);
    expect(root.publicKey.asymmetricKeyType).toBe('ec');
    expect(root.checkIssued(root) && root.verify(root.publicKey)).toBe(true); // self-signed

    const namespace = await env.namespace('cm-issue');
    await request(env, namespace, 'foo', cm.issuerName);
    const cr = await cm.waitForRequest(namespace, 'foo', issued);
    expect(conditionOf(cr, 'Approved')).toMatchObject({ status: 'True', reason: 'cert-manager.io' }); // the controller's approver
    expect(cr.spec.username).toBe('envtest-admin'); // filled in by the webhook

    const leaf = new X509Certificate(pem(cr.status?.certificate));
    expect(leaf.subjectAltName).toBe(`URI:${SPIFFE_ID}`);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).toBe(true);
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(3_600_000);
    expect(pem(cr.status?.ca)).toBe(cm.rootPem);
  });

  it('with the approver off, a request waits for approve(); deny() ends another with Denied=True', async () => {
    await cm.startController({ approver: false });
    try {
      expect(cm.approver).toBe(false);
      const namespace = await env.namespace('cm-approval');
      // Nothing happens to an unapproved request, so there is no event to wait for: deny a later one and,
      // once that one is seen as Denied, the controller has seen the held one too (one informer, in order).
      await request(env, namespace, 'held', cm.issuerName);
      await request(env, namespace, 'refused', cm.issuerName);
      await cm.deny(namespace, 'refused', 'not this one');
      const refused = await cm.waitForRequest(namespace, 'refused', (r) => conditionOf(r, 'Ready')?.reason === 'Denied');
      expect(conditionOf(refused, 'Denied')).toMatchObject({ status: 'True', message: 'not this one' });
      expect(conditionOf(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'Denied' });
      expect(refused.status?.failureTime).toBeTruthy();
      expect(refused.status?.certificate).toBeUndefined();

      const held = (await admin(env).getNamespacedCustomObject({ ...CR, namespace, name: 'held' })) as CertificateRequest;
      expect(held.status).toBeUndefined(); // not even a Pending condition

      await cm.approve(namespace, 'held');
      const cr = await cm.waitForRequest(namespace, 'held', issued);
      expect(conditionOf(cr, 'Approved')).toMatchObject({ status: 'True', reason: 'KubectlCertManager' });
      expect(new X509Certificate(pem(cr.status?.certificate)).subjectAltName).toBe(`URI:${SPIFFE_ID}`);
    } finally {
      await cm.startController({ approver: true });
    }
  });

  it('is one per API server: sharedCertManager() gives the same instance, startCertManager() refuses a second', async () => {
    expect(await sharedCertManager(env)).toBe(cm);
    await expect(startCertManager(env)).rejects.toThrow(/already/);
  });

  it('fails fast with a clear message when the binaries are missing', async () => {
    const saved = process.env.TRELLIS_CERT_MANAGER;
    process.env.TRELLIS_CERT_MANAGER = '/nonexistent/cert-manager';
    try {
      await expect(startCertManager(env)).rejects.toThrow(/no executable \/nonexistent\/cert-manager\/controller\. Set TRELLIS_CERT_MANAGER/);
    } finally {
      if (saved === undefined) delete process.env.TRELLIS_CERT_MANAGER;
      else process.env.TRELLIS_CERT_MANAGER = saved;
    }
  });

  it('stop() leaves the API server writable; a new start (approver off) finds the same root; newCaIssuer() makes another', async () => {
    const own = await startEnvtest();
    try {
      const first = await startCertManager(own, { approver: false, issuerName: 'first-ca' });
      await first.stop();
      // No webhook configuration is left to refuse this (with it, the webhook would: no issuer type).
      const invalid = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'no-type' }, spec: {} };
      await admin(own).createClusterCustomObject({ group: 'cert-manager.io', version: 'v1', plural: 'clusterissuers', body: invalid });

      const again = await startCertManager(own, { approver: false, issuerName: 'first-ca' });
      expect(again.rootPem).toBe(first.rootPem);
      const other = await again.newCaIssuer('other-ca');
      expect(other.rootPem).not.toBe(first.rootPem);
      const namespace = await own.namespace('cm-other');
      await request(own, namespace, 'foo', other.issuerName);
      await again.approve(namespace, 'foo');
      const cr = await again.waitForRequest(namespace, 'foo', issued);
      const leaf = new X509Certificate(pem(cr.status?.certificate));
      expect(leaf.verify(new X509Certificate(other.rootPem).publicKey)).toBe(true);
      expect(leaf.verify(new X509Certificate(first.rootPem).publicKey)).toBe(false);
      await again.stop();
    } finally {
      await own.stop();
    }
  });
});
