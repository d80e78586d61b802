/**
 * Who may read what on the secure xDS port. A proxy proves its workload identity with a projected
 * ServiceAccount token (`authorization: Bearer`, audience `trellis`), checked by the API server's
 * TokenReview and remembered until min(its expiry, 5 min); or with a client certificate of the mesh
 * (chaining to the trust bundle, its only URI SAN a SPIFFE ID of the trust domain). The node it then
 * names must be of that namespace and service account (and pod, when the token is bound to one).
 *
 * Reviews are bounded, so that a thousand proxies reconnecting at once (Trellis restarted, a node
 * back) are a queue here rather than a burst the API server's priority and fairness answers 429:
 * at most REVIEWS_IN_FLIGHT at a time, one per token however many streams present it, and a review
 * answered 429 or 503 is asked again after the server's Retry-After (or a backoff) for up to
 * REVIEW_RETRY_MS while the stream waits, before the stream ends UNAVAILABLE.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthenticationV1Api, type KubeConfig, type V1TokenReview } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { NODE_METADATA } from '../envoy/contract.js';
import type { NodeInfo } from '../envoy/node.js';
import { describeNode } from '../translate/proxy.js';
import type { PeerIdentity } from '../xds/peer.js';
import { StreamError } from '../xds/stream.js';
import { apiMessage, statusOf } from './requests.js';
import { chainsToRoot, uriSans } from './verify.js';

export const TOKEN_AUDIENCE = 'trellis';
const CACHE_MAX_MS = 5 * 60_000;
const CACHE_ENTRIES = 10_000;
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
/** TokenReviews in flight at most; the rest wait their turn. */
export const REVIEWS_IN_FLIGHT = 64;
/** How long a throttled (429) or unavailable (503) review is retried before the stream is refused. */
const REVIEW_RETRY_MS = 10_000;
/** The wait between attempts without a Retry-After, doubled each time up to 2 s. */
const REVIEW_BACKOFF_MS = 250;

export interface AuthenticatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly trustDomain: string;
  /** The trust bundle's roots now. */
  readonly roots: () => readonly X509Certificate[];
  readonly logger: Logger;
  readonly now?: () => number;
}

const unauthenticated = (message: string) => new StreamError(Status.UNAUTHENTICATED, message, 'unauthenticated');

/** The SPIFFE ID of a namespace and service account. */
export function workloadIdentity(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The `exp` claim of a JWT, in ms; undefined when it has none (the TokenReview still decided validity). */
function expiryOf(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A client-node error's Retry-After, in ms (seconds only: what the API server sends). */
function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string | undefined> }).headers;
  const seconds = Number(headers?.['retry-after'] ?? headers?.['Retry-After'] ?? NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export class PeerAuthenticator {
  private readonly api: AuthenticationV1Api;
  /** Reviewed tokens by their hash (never the token itself), with when to ask again. */
  private readonly reviewed = new Map<string, { peer: PeerIdentity; until: number }>();
  private readonly now: () => number;
  /** Reviews under way, by token hash: streams presenting the same token share one. */
  private readonly reviewing = new Map<string, Promise<PeerIdentity>>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: AuthenticatorOptions) {
    this.api = opts.kubeConfig.makeApiClient(AuthenticationV1Api);
    this.now = opts.now ?? Date.now;
  }

  /** For AdsServer's `authenticate`: the token when there is one, else the client certificate. */
  readonly authenticate = async (call: ServerDuplexStream<unknown, unknown>): Promise<PeerIdentity> => {
    const header = call.metadata.get('authorization')[0];
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(String(header));
      if (!m?.[1]) throw unauthenticated('the authorization header is not "Bearer <token>"');
      return this.fromToken(m[1]);
    }
    const raw = call.getAuthContext().sslPeerCertificate?.raw;
    if (raw) return this.fromCertificate(raw);
    throw unauthenticated(
      `no credentials: send a ServiceAccount token (authorization: Bearer, audience ${TOKEN_AUDIENCE}) or a client certificate of the mesh`,
    );
  };

  private fromToken(token: string): Promise<PeerIdentity> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.reviewed.get(key);
    if (cached && cached.until > this.now()) return Promise.resolve(cached.peer);
    this.reviewed.delete(key);
    let review = this.reviewing.get(key);
    if (!review) {
      review = this.review(key, token).finally(() => this.reviewing.delete(key));
      this.reviewing.set(key, review);
    }
    return review;
  }

  /** Waits for one of the REVIEWS_IN_FLIGHT turns; the caller must call `release` once done. */
  private async turn(): Promise<void> {
    if (this.inFlight < REVIEWS_IN_FLIGHT) {
      this.inFlight += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the turn to the next waiting review, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  /** Asks the API server, in turn, again while it answers 429 or 503 (for REVIEW_RETRY_MS at most). */
  private async ask(token: string): Promise<V1TokenReview> {
    await this.turn();
    try {
      const giveUp = this.now() + REVIEW_RETRY_MS;
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.api.createTokenReview({ body: { spec: { token, audiences: [TOKEN_AUDIENCE] } } });
        } catch (err) {
          const code = statusOf(err);
          const wait = Math.max(retryAfterMs(err) ?? 0, Math.min(2_000, REVIEW_BACKOFF_MS * 2 ** attempt));
          if ((code !== 429 && code !== 503) || this.now() + wait > giveUp) {
            throw new StreamError(Status.UNAVAILABLE, `cannot review the token now: ${apiMessage(err)}`, 'token_review_failed');
          }
          this.opts.logger.info({ status: code, retryInMs: wait, attempt: attempt + 1 }, 'TokenReview throttled by the API server; asking again');
          await sleep(wait);
        }
      }
    } finally {
      this.release();
    }
  }

  private async review(key: string, token: string): Promise<PeerIdentity> {
    const review = await this.ask(token);
    const st = review.status;
    if (!st?.authenticated) throw unauthenticated(`the token is not valid for audience ${TOKEN_AUDIENCE}: ${st?.error ?? 'not authenticated'}`);
    if (!(st.audiences ?? []).includes(TOKEN_AUDIENCE)) throw unauthenticated(`the token is not for audience ${TOKEN_AUDIENCE}`);
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(st.user?.username ?? '');
    if (!m?.[1] || !m[2]) throw unauthenticated(`the token is not a ServiceAccount's (user ${st.user?.username ?? 'unknown'})`);
    const pod = st.user?.extra?.[POD_NAME_EXTRA]?.[0];
    const peer: PeerIdentity = {
      identity: workloadIdentity(this.opts.trustDomain, m[1], m[2]),
      namespace: m[1],
      serviceAccount: m[2],
      ...(pod ? { pod } : {}),
      via: 'token',
    };
    const until = Math.min(expiryOf(token) ?? Number.POSITIVE_INFINITY, this.now() + CACHE_MAX_MS);
    if (this.reviewed.size >= CACHE_ENTRIES) this.reviewed.delete(this.reviewed.keys().next().value ?? '');
    this.reviewed.set(key, { peer, until });
    return peer;
  }

  /**
   * grpc-js shows the client's leaf certificate only (not the intermediates it sent): a client
   * certificate must be issued by a root of the bundle itself. Tokens have no such limit.
   */
  private fromCertificate(raw: Buffer): PeerIdentity {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(raw);
    } catch {
      throw unauthenticated('the client certificate does not parse');
    }
    const now = new Date(this.now());
    if (!(new Date(leaf.validFrom) <= now && now < new Date(leaf.validTo))) throw unauthenticated('the client certificate is not valid now');
    const broken = chainsToRoot(leaf, [], this.opts.roots());
    if (broken) throw unauthenticated(`the client certificate ${broken}`);
    const uris = uriSans(leaf);
    const prefix = `spiffe://${this.opts.trustDomain}/ns/`;
    const m = uris.length === 1 ? /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uris[0] ?? '') : null;
    if (!m?.[1] || !m[2] || !uris[0]?.startsWith(prefix))
      throw unauthenticated(`the client certificate names no workload of trust domain ${this.opts.trustDomain}`);
    return { identity: uris[0], namespace: m[1], serviceAccount: m[2], via: 'certificate' };
  }
}

/** For AdsServer's `authorize`: the node must be of the peer's namespace and service account, and its pod when the token names one. */
export function authorizeNode(peer: PeerIdentity, node: NodeInfo): string | undefined {
  const d = describeNode(node);
  if (d.namespace !== peer.namespace) return `the node is in namespace ${d.namespace}, the credentials are of namespace ${peer.namespace}`;
  const md = node.metadata[NODE_METADATA.serviceAccount];
  const serviceAccount = typeof md === 'string' && md !== '' ? md : node.cluster.split('.')[0];
  if (serviceAccount !== peer.serviceAccount)
    return `the node runs as service account ${serviceAccount ?? '(none)'}, the credentials are of ${peer.serviceAccount}`;
  if (peer.pod && d.pod !== undefined && d.pod !== peer.pod) return `the node is pod ${d.pod}, the token is bound to pod ${peer.pod}`;
  return undefined;
}
