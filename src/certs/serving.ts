/**
 * The secure xDS port's TLS: Trellis's own certificate from cert-manager (its SPIFFE ID and the DNS
 * names proxies dial), and the trust bundle to check client certificates against, handed to grpc-js
 * as certificate providers so that a renewal or a new bundle applies to new connections without
 * closing a stream. Client certificates are asked for, not required: a token will do as well.
 *
 * grpc-js 1.14 quirks, kept here: `experimental.createCertificateProviderServerCredentials` names its
 * parameters (ca, identity, ...) but passes them on as (identity, ca, ...); the identity provider goes first.
 * And a server reads the credentials' state, then adds the providers' listeners, then its own watcher: an
 * update a provider hands over while its listener is being added reaches no watcher, and a port bound after
 * the certificate was issued would drop every connection until the next renewal. So the first update
 * comes a microtask later, as grpc-js's own file watcher's does (a promise).
 */
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { CertificateManager } from './manager.js';

type CertificateProvider = experimental.CertificateProvider;
type IdentityCertificateUpdateListener = experimental.IdentityCertificateUpdateListener;
type CaCertificateUpdateListener = experimental.CaCertificateUpdateListener;

export class ServingCertificate {
  private readonly identityListeners = new Set<IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<CaCertificateUpdateListener>();
  readonly credentials: ServerCredentials;

  constructor(
    private readonly manager: CertificateManager,
    readonly identity: string,
    readonly dnsNames: readonly string[],
    private readonly bundlePem: () => string,
  ) {
    const identityProvider: CertificateProvider = {
      addIdentityCertificateListener: (l) => {
        this.identityListeners.add(l);
        queueMicrotask(() => this.identityListeners.has(l) && l(this.identityUpdate()));
      },
      removeIdentityCertificateListener: (l) => this.identityListeners.delete(l),
      addCaCertificateListener: () => undefined,
      removeCaCertificateListener: () => undefined,
    };
    const caProvider: CertificateProvider = {
      addCaCertificateListener: (l) => {
        this.caListeners.add(l);
        queueMicrotask(() => this.caListeners.has(l) && l({ caCertificate: Buffer.from(this.bundlePem()) }));
      },
      removeCaCertificateListener: (l) => this.caListeners.delete(l),
      addIdentityCertificateListener: () => undefined,
      removeIdentityCertificateListener: () => undefined,
    };
    this.credentials = experimental.createCertificateProviderServerCredentials(identityProvider, caProvider, false);
    manager.on('changed', (id: string) => {
      if (id !== identity) return;
      const update = this.identityUpdate();
      for (const l of this.identityListeners) l(update);
    });
    manager.want(identity, dnsNames);
  }

  /** Whether the port can accept connections: its first certificate is there. */
  get ready(): boolean {
    return this.manager.certificate(this.identity) !== undefined;
  }

  /** The bundle changed: new connections check client certificates against the new one. */
  bundleChanged(): void {
    for (const l of this.caListeners) l({ caCertificate: Buffer.from(this.bundlePem()) });
  }

  private identityUpdate(): { certificate: Buffer; privateKey: Buffer } | null {
    const cert = this.manager.certificate(this.identity);
    return cert ? { certificate: Buffer.from(cert.chainPem), privateKey: Buffer.from(cert.privateKeyPem) } : null;
  }
}
