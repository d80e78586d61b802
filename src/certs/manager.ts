/**
 * Workload certificates, one per identity with a connected proxy: a fresh key and a request to
 * cert-manager when the identity is first wanted, renewal at 2/3 of the lifetime (up to 5% earlier, at
 * random, so that a fleet issued together does not renew together), and on any failure the current
 * certificate keeps serving while retries back off. An identity no proxy wants any more is dropped
 * after a grace period, key and all. Keys live in this process only.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions } from '../sources/kube/backoff.js';
import { newKeyAndCsr } from './csr.js';
import type { CertificateRequests, Outcome } from './requests.js';
import { checkIssued, type IssuedCertificate } from './verify.js';

export type CertState = 'issuing' | 'ready' | 'renewing' | 'failing' | 'expired';

export interface CertError {
  readonly request: string;
  /** Denied, InvalidRequest, Failed, Timeout, Deleted, Error, or Rejected (issued but not servable). */
  readonly reason: string;
  readonly message: string;
  readonly at: string;
}

/** One identity as `/debug/certz` shows it. */
export interface CertzEntry {
  readonly identity: string;
  readonly state: CertState;
  readonly serial?: string;
  readonly notAfter?: string;
  readonly renewAt?: string;
  readonly lastError?: CertError;
  readonly nextAttempt?: string;
}

export interface ServedCertificate {
  readonly identity: string;
  /** Leaf then intermediates, PEM. */
  readonly chainPem: string;
  readonly privateKeyPem: string;
  readonly serial: string;
  readonly notAfter: Date;
}

export interface CertObserver {
  issued(seconds: number): void;
  failed(reason: string): void;
}

/** Where the figures go: the observer, and a callback read for each certificate's time to expiry. */
export interface CertMetricsSink extends CertObserver {
  expiryCollector(fn: () => readonly { identity: string; seconds: number }[]): void;
}

export interface CertificateManagerOptions {
  readonly requests: Pick<CertificateRequests, 'request'>;
  /** The trust bundle's roots now: an issued certificate must chain to one of them. */
  readonly roots: () => readonly X509Certificate[];
  readonly logger: Logger;
  readonly observer?: CertObserver;
  /** How long an identity no proxy wants keeps its certificate (a reconnect within it needs no new one). */
  readonly releaseGraceMs?: number;
  readonly backoff?: BackoffOptions;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry {
  readonly identity: string;
  /** DNS names asked for beside the identity (Trellis's own serving certificate). */
  readonly dnsNames: readonly string[];
  refs: number;
  cert?: IssuedCertificate & { readonly key: KeyObject };
  /** What certificate() gives for `cert`, made once (the key's PEM export costs a millisecond or so each time). */
  served?: ServedCertificate;
  renewAt?: number;
  lastError?: CertError;
  nextAttempt?: number;
  inflight?: AbortController;
  timer?: NodeJS.Timeout;
  releaseTimer?: NodeJS.Timeout;
  backoff: Backoff;
}

export const RENEW_AT = 2 / 3;
export const RENEW_JITTER = 0.05;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 2_000, maxMs: 5 * 60_000 };
/** setTimeout's longest delay; a renewal further away is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Emits 'changed' (identity) whenever an identity's served certificate changes. */
export class CertificateManager extends EventEmitter {
  private readonly entries = new Map<string, Entry>();
  private closed = false;
  /** The next step of renewAll(). */
  private renewing: NodeJS.Immediate | undefined;
  private readonly now: () => number;
  private observer: CertObserver | undefined;

  constructor(private readonly opts: CertificateManagerOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.observer = opts.observer;
  }

  /** Sends the figures to `sink` from now on. */
  report(sink: CertMetricsSink): void {
    this.observer = sink;
    sink.expiryCollector(() => this.expiries());
  }

  /** A proxy of `identity` connected: make sure it has (or gets) a certificate (with `dnsNames` too, for a server). */
  want(identity: string, dnsNames: readonly string[] = []): void {
    let e = this.entries.get(identity);
    if (!e) {
      e = { identity, dnsNames, refs: 0, backoff: this.newBackoff() };
      this.entries.set(identity, e);
      this.issue(e);
    }
    e.refs += 1;
    clearTimeout(e.releaseTimer);
    e.releaseTimer = undefined;
  }

  /** A proxy of `identity` left: once none is left for the grace period, the identity is dropped. */
  release(identity: string): void {
    const e = this.entries.get(identity);
    if (!e || e.refs === 0) return;
    e.refs -= 1;
    if (e.refs > 0) return;
    e.releaseTimer = setTimeout(() => this.drop(e), this.opts.releaseGraceMs ?? 30_000);
    e.releaseTimer.unref();
  }

  /** What to serve for `identity`: its current certificate, or nothing until the first one is issued. */
  certificate(identity: string): ServedCertificate | undefined {
    const e = this.entries.get(identity);
    const cert = e?.cert;
    if (!e || !cert) return undefined;
    e.served ??= {
      identity,
      chainPem: cert.chainPem,
      privateKeyPem: cert.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      serial: cert.serial,
      notAfter: cert.notAfter,
    };
    return e.served;
  }

  identities(): string[] {
    return [...this.entries.keys()].sort();
  }

  certz(): CertzEntry[] {
    return this.identities().flatMap((id) => {
      const e = this.entries.get(id);
      if (!e) return [];
      const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
      return [
        {
          identity: id,
          state: this.stateOf(e),
          serial: e.cert?.serial,
          notAfter: e.cert?.notAfter.toISOString(),
          renewAt: iso(e.renewAt),
          lastError: e.lastError,
          nextAttempt: iso(e.nextAttempt),
        },
      ];
    });
  }

  /** Seconds until each served certificate expires (negative once expired). */
  expiries(): { identity: string; seconds: number }[] {
    const now = this.now();
    return [...this.entries.values()].flatMap((e) => (e.cert ? [{ identity: e.identity, seconds: (e.cert.notAfter.getTime() - now) / 1000 }] : []));
  }

  /**
   * Requests a new certificate for every identity (the trust bundle changed, say); the current ones
   * serve until then. One identity per turn of the event loop, starting on the next one: a key pair
   * and a request take the thread a while, and what the caller just pushed (the new `ROOTCA` on
   * every stream) goes out first, with the streams' ACKs read in between.
   */
  renewAll(): void {
    const pending = [...this.entries.values()];
    const next = (): void => {
      this.renewing = undefined;
      const e = pending.shift();
      if (!e || this.closed) return;
      if (this.entries.get(e.identity) === e) this.issue(e);
      this.renewing = setImmediate(next);
    };
    if (this.renewing) clearImmediate(this.renewing);
    this.renewing = setImmediate(next);
  }

  close(): void {
    this.closed = true;
    if (this.renewing) clearImmediate(this.renewing);
    for (const e of this.entries.values()) this.stop(e);
    this.entries.clear();
  }

  private stateOf(e: Entry): CertState {
    if (!e.cert) return e.lastError ? 'failing' : 'issuing';
    if (e.cert.notAfter.getTime() <= this.now()) return 'expired';
    if (e.lastError || e.inflight) return 'renewing';
    return 'ready';
  }

  private newBackoff(): Backoff {
    return new Backoff(this.opts.backoff ?? DEFAULT_BACKOFF, this.now, this.opts.random);
  }

  private stop(e: Entry): void {
    e.inflight?.abort();
    clearTimeout(e.timer);
    clearTimeout(e.releaseTimer);
  }

  private drop(e: Entry): void {
    if (this.entries.get(e.identity) !== e || e.refs > 0) return;
    this.stop(e);
    this.entries.delete(e.identity);
    this.opts.logger.info({ identity: e.identity }, 'no proxy of this identity is connected: its certificate and key are dropped');
  }

  private schedule(e: Entry, at: number): void {
    clearTimeout(e.timer);
    const wait = Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS);
    e.timer = setTimeout(() => (this.now() >= at ? this.issue(e) : this.schedule(e, at)), wait);
    e.timer.unref();
  }

  private issue(e: Entry): void {
    if (this.closed || e.inflight) return;
    clearTimeout(e.timer);
    e.nextAttempt = undefined;
    const controller = new AbortController();
    e.inflight = controller;
    const started = this.now();
    const { privateKey, publicKeyDer, csrPem } = newKeyAndCsr(e.identity, e.dnsNames);
    void this.opts.requests
      .request(e.identity, csrPem, controller.signal)
      .catch((err: unknown): Outcome => ({ kind: 'Error', request: '(unknown)', message: err instanceof Error ? err.message : String(err) }))
      .then((outcome) => {
        e.inflight = undefined;
        if (controller.signal.aborted || this.entries.get(e.identity) !== e) return;
        if (outcome.kind !== 'issued') return this.failed(e, outcome.request, outcome.kind, outcome.message);
        const check = checkIssued(outcome.certificatePem, { identity: e.identity, publicKeyDer, roots: this.opts.roots(), now: new Date(this.now()) });
        if (!check.ok) return this.failed(e, outcome.request, 'Rejected', `the issued certificate is not served: ${check.reason}`);
        this.issued(e, { ...check.cert, key: privateKey }, outcome.request, (this.now() - started) / 1000);
      });
  }

  private issued(e: Entry, cert: IssuedCertificate & { key: KeyObject }, request: string, seconds: number): void {
    e.cert = cert;
    e.served = undefined;
    e.lastError = undefined;
    e.backoff = this.newBackoff();
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    const jitter = (this.opts.random ?? Math.random)() * RENEW_JITTER;
    e.renewAt = cert.notBefore.getTime() + lifetime * (RENEW_AT - jitter);
    this.schedule(e, e.renewAt);
    this.observer?.issued(seconds);
    this.opts.logger.info(
      { identity: e.identity, request, serial: cert.serial, notAfter: cert.notAfter.toISOString(), renewAt: new Date(e.renewAt).toISOString() },
      'workload certificate issued',
    );
    this.emit('changed', e.identity);
  }

  private failed(e: Entry, request: string, reason: string, message: string): void {
    e.lastError = { request, reason, message, at: new Date(this.now()).toISOString() };
    const wait = e.backoff.next();
    e.nextAttempt = this.now() + wait;
    this.schedule(e, e.nextAttempt);
    this.observer?.failed(reason);
    const serving = e.cert ? `serial ${e.cert.serial} keeps serving until ${e.cert.notAfter.toISOString()}` : 'nothing to serve yet';
    this.opts.logger.warn(
      { identity: e.identity, request, reason, message, retryInMs: wait },
      `no certificate for ${e.identity} from ${request}: ${reason}: ${message} (${serving}; retrying)`,
    );
  }
}
