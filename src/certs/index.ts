/**
 * Workload certificates in a running `trellis serve`: the trust bundle file, the certificate manager
 * on cert-manager, and the bundle published in every watched namespace. Only with `--issuer` in
 * cluster mode; otherwise nothing is encrypted, and `/debug/certz` says so.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ServerCredentials } from '@grpc/grpc-js';
import { SnapshotCache } from '../xds/cache.js';
import type { Authenticate, Authorize } from '../xds/peer.js';
import { authorizeNode, PeerAuthenticator, workloadIdentity } from './authn.js';
import { TrustBundleFile } from './bundle.js';
import { SecretPublisher } from './sds.js';
import { ServingCertificate } from './serving.js';
import { CertificateManager, type CertObserver } from './manager.js';
import { RootCertPublisher } from './publish.js';
import { apiMessage, CertificateRequests, type IssuerRef } from './requests.js';
import type { CertzView } from './view.js';

export { CertificateManager, type CertMetricsSink, type CertObserver, type CertzEntry, type ServedCertificate } from './manager.js';
export { DEFAULT_ISSUER, type IssuerRef } from './requests.js';
export { NO_ISSUER, type CertzView } from './view.js';

const PUBLISH_RETRY_MS = 30_000;
/** How long certificates wait after a bundle change for every proxy to acknowledge the new ROOTCA. */
const ROOT_DELIVERY_MS = 10_000;

/** What delivers the Secrets (the ADS server). */
export interface SecretsDelivery {
  /** Resolves once every authenticated stream answered the Secrets it was sent, or after timeoutMs, with the number still silent. */
  secretsDelivered(timeoutMs: number): Promise<number>;
}

/** What the ADS server needs for its secure port. */
export interface SecureXds {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly secrets: SnapshotCache;
  readonly onPeer: (identity: string, connected: boolean) => void;
  readonly credentials: ServerCredentials;
  /** Whether the port has its certificate yet (connections are dropped until then). */
  readonly ready: () => boolean;
}

/** Trellis's own service account: its serving certificate names `spiffe://<td>/ns/<namespace>/sa/trellis`. */
export const TRELLIS_SERVICE_ACCOUNT = 'trellis';

export interface CertificatesOptions {
  readonly kubeConfig: KubeConfig;
  readonly trustDomain: string;
  /** The cluster DNS domain: the serving certificate names trellis.<namespace>.svc[.<domain>]. */
  readonly domain: string;
  /** Trellis's own namespace: its CertificateRequests live there. */
  readonly namespace: string;
  readonly replica: string;
  readonly issuer: IssuerRef;
  readonly trustBundleFile: string;
  readonly durationSeconds: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly observer?: CertObserver;
  /** After a bundle change, how long reissuing waits for every proxy to acknowledge the new ROOTCA (10 s). */
  readonly rootDeliveryTimeoutMs?: number;
}

export class Certificates {
  private namespaces: readonly string[] = [];
  private unpublished: readonly string[] = [];
  private publishing: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private delivery: SecretsDelivery | undefined;

  readonly xds: SecureXds;
  private readonly sds: SecretPublisher;
  private readonly serving: ServingCertificate;

  private constructor(
    private readonly opts: CertificatesOptions,
    private readonly bundle: TrustBundleFile,
    readonly manager: CertificateManager,
    private readonly publisher: RootCertPublisher,
  ) {
    const bundlePem = () => bundle.bundle.pem;
    const secrets = new SnapshotCache();
    this.sds = new SecretPublisher(secrets, manager, bundlePem);
    const ns = opts.namespace;
    this.serving = new ServingCertificate(
      manager,
      workloadIdentity(opts.trustDomain, ns, TRELLIS_SERVICE_ACCOUNT),
      [`trellis.${ns}.svc`, `trellis.${ns}.svc.${opts.domain}`],
      bundlePem,
    );
    const authenticator = new PeerAuthenticator({
      kubeConfig: opts.kubeConfig,
      trustDomain: opts.trustDomain,
      roots: () => bundle.bundle.roots,
      logger: opts.logger,
    });
    this.xds = {
      authenticate: authenticator.authenticate,
      authorize: authorizeNode,
      secrets,
      onPeer: (identity, connected) => (connected ? this.sds.connected(identity) : this.sds.disconnected(identity)),
      credentials: this.serving.credentials,
      ready: () => this.serving.ready,
    };
  }

  /** Reads the trust bundle (throws one line when it cannot), deletes this replica's leftover requests, and starts. */
  static async start(opts: CertificatesOptions): Promise<Certificates> {
    const logger = opts.logger;
    const bundle = await TrustBundleFile.open(opts.trustBundleFile, logger);
    const requests = new CertificateRequests({
      kubeConfig: opts.kubeConfig,
      namespace: opts.namespace,
      issuer: opts.issuer,
      durationSeconds: opts.durationSeconds,
      timeoutMs: opts.requestTimeoutMs,
      replica: opts.replica,
      logger,
    });
    try {
      const deleted = await requests.deleteLeftovers();
      if (deleted > 0) logger.info({ namespace: opts.namespace, deleted }, 'deleted CertificateRequests left by an earlier run');
    } catch (err) {
      logger.warn({ namespace: opts.namespace, err: apiMessage(err) }, 'cannot look for leftover CertificateRequests');
    }
    const manager = new CertificateManager({ requests, roots: () => bundle.bundle.roots, logger, ...(opts.observer ? { observer: opts.observer } : {}) });
    const certs = new Certificates(opts, bundle, manager, new RootCertPublisher(opts.kubeConfig, logger));
    bundle.on('changed', () => {
      // A new root: serve it (ROOTCA on every stream first, then the secure port's client check),
      // publish it, and reissue so that certificates follow the issuer's current CA — once every
      // proxy holds the new ROOTCA, so that no proxy meets a certificate of a new CA it does not trust yet.
      certs.sds.publishAll();
      certs.serving.bundleChanged();
      certs.publish();
      void certs.rootDelivered().then(() => manager.renewAll());
    });
    logger.info({ issuer: opts.issuer, trustBundle: opts.trustBundleFile }, 'workload certificates from cert-manager');
    return certs;
  }

  /** The ADS server that delivers the Secrets: a bundle change reissues certificates once it has delivered the new ROOTCA. */
  deliverVia(server: SecretsDelivery): void {
    this.delivery = server;
  }

  /** Resolves once every stream answered its new ROOTCA (at most ROOT_DELIVERY_MS), saying so when some did not. */
  private async rootDelivered(): Promise<void> {
    if (!this.delivery) return;
    const silent = await this.delivery.secretsDelivered(this.opts.rootDeliveryTimeoutMs ?? ROOT_DELIVERY_MS);
    if (silent > 0) {
      this.opts.logger.warn(
        { streams: silent },
        `${silent} proxies did not acknowledge the new trust bundle (ROOTCA) within ${((this.opts.rootDeliveryTimeoutMs ?? ROOT_DELIVERY_MS) / 1000).toFixed(1)} s; reissuing certificates anyway`,
      );
    }
  }

  /** The namespaces watched now: the bundle is published in each. */
  setNamespaces(namespaces: readonly string[]): void {
    const sorted = [...namespaces].sort();
    if (sorted.join('\n') === this.namespaces.join('\n')) return;
    this.namespaces = sorted;
    this.publish();
  }

  /** Resolves once the publications asked for so far are done. */
  published(): Promise<void> {
    return this.publishing;
  }

  view(): CertzView {
    const { bundle } = this.bundle;
    return {
      enabled: true,
      issuer: this.opts.issuer,
      trustBundle: {
        file: this.opts.trustBundleFile,
        roots: bundle.roots.map((r) => ({ subject: r.subject, notAfter: new Date(r.validTo).toISOString() })),
        ...(this.bundle.error ? { error: this.bundle.error } : {}),
      },
      unpublished: this.unpublished,
      identities: this.manager.certz(),
    };
  }

  close(): void {
    clearTimeout(this.retry);
    this.bundle.close();
    this.manager.close();
  }

  private publish(): void {
    const namespaces = this.namespaces;
    clearTimeout(this.retry);
    this.publishing = this.publishing.then(async () => {
      this.unpublished = await this.publisher.sync(namespaces, this.bundle.bundle.pem);
      if (this.unpublished.length === 0) return;
      // A namespace refused (terminating, RBAC not yet in effect): try again in a while.
      this.retry = setTimeout(() => this.publish(), PUBLISH_RETRY_MS);
      this.retry.unref();
    });
  }
}
