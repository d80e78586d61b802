/**
 * SDS: the Secrets an Envoy sidecar receives over ADS, per workload identity — `default` (its
 * certificate chain and key) and `ROOTCA` (the trust bundle). Translated resources refer to these
 * names only, so they stay shared between proxies; the content is the stream's peer's. They live in
 * a snapshot cache of their own, keyed by identity: a rotation is one `set` (one encode per identity,
 * whatever the number of its proxies), pushed on the open streams of that identity.
 */
import { SDS_SECRET } from '../envoy/contract.js';
import type { DesiredResource } from '../envoy/resources.js';
import type { SnapshotCache } from '../xds/cache.js';
import type { CertificateManager, ServedCertificate } from './manager.js';

const SDS_CERTIFICATE = SDS_SECRET.certificate;
const SDS_ROOT = SDS_SECRET.trustBundle;

type SecretResource = DesiredResource<'secret'>;

/** `ROOTCA`: the bundle. */
function rootResource(bundlePem: string): SecretResource {
  return { name: SDS_ROOT, message: { name: SDS_ROOT, validation_context: { trusted_ca: { inline_string: bundlePem } } } };
}

/** `default`: an identity's certificate chain and key. */
function certificateResource(cert: ServedCertificate): SecretResource {
  return {
    name: SDS_CERTIFICATE,
    message: {
      name: SDS_CERTIFICATE,
      tls_certificate: { certificate_chain: { inline_string: cert.chainPem }, private_key: { inline_string: cert.privateKeyPem } },
    },
  };
}

/** Keeps `secrets` (one entry per identity with a connected proxy) in step with the manager and the bundle. */
export class SecretPublisher {
  private readonly connectedIds = new Set<string>();
  private root: { pem: string; resource: SecretResource } = { pem: '', resource: rootResource('') };
  private readonly certificates = new WeakMap<ServedCertificate, SecretResource>();

  constructor(
    private readonly secrets: SnapshotCache,
    private readonly manager: CertificateManager,
    private readonly bundlePem: () => string,
  ) {
    manager.on('changed', (identity: string) => {
      if (this.connectedIds.has(identity)) this.publish(identity);
    });
  }

  /** An identity's first authenticated stream: ask for its certificate, and serve the bundle at once. */
  connected(identity: string): void {
    this.connectedIds.add(identity);
    this.manager.want(identity);
    this.publish(identity);
  }

  /** Its last stream left: the certificate goes after the manager's grace period; the Secrets go now. */
  disconnected(identity: string): void {
    this.connectedIds.delete(identity);
    this.manager.release(identity);
    this.secrets.delete(identity);
  }

  /** The bundle changed: every identity's ROOTCA. */
  publishAll(): void {
    for (const identity of this.connectedIds) this.publish(identity);
  }

  /**
   * An identity's Secrets: `ROOTCA` always, `default` once its certificate is issued. The same objects
   * for the same bundle and certificate, so that the cache knows them without hashing them again (a
   * new bundle is one new `ROOTCA` for every identity).
   */
  private publish(identity: string): void {
    const pem = this.bundlePem();
    if (this.root.pem !== pem) this.root = { pem, resource: rootResource(pem) };
    const cert = this.manager.certificate(identity);
    let own = cert && this.certificates.get(cert);
    if (cert && !own) {
      own = certificateResource(cert);
      this.certificates.set(cert, own);
    }
    this.secrets.set(identity, { secret: own ? [this.root.resource, own] : [this.root.resource] });
  }
}
