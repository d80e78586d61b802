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
import type { CertificateManager } from './manager.js';

const SDS_CERTIFICATE = SDS_SECRET.certificate;
const SDS_ROOT = SDS_SECRET.trustBundle;

/** The two Secrets of an identity: `ROOTCA` always, `default` once its certificate is issued. */
export function secretResources(cert: { chainPem: string; privateKeyPem: string } | undefined, bundlePem: string): DesiredResource<'secret'>[] {
  const root: DesiredResource<'secret'> = { name: SDS_ROOT, message: { name: SDS_ROOT, validation_context: { trusted_ca: { inline_string: bundlePem } } } };
  if (!cert) return [root];
  return [
    root,
    {
      name: SDS_CERTIFICATE,
      message: {
        name: SDS_CERTIFICATE,
        tls_certificate: { certificate_chain: { inline_string: cert.chainPem }, private_key: { inline_string: cert.privateKeyPem } },
      },
    },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Keeps `secrets` (one entry per identity with a connected proxy) in step with the manager and the bundle. */
export class SecretPublisher {
  private readonly connectedIds = new Set<string>();

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

  private publish(identity: string): void {
    this.secrets.set(identity, { secret: secretResources(this.manager.certificate(identity), this.bundlePem()) });
  }
}
