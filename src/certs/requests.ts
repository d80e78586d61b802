/**
 * One certificate from cert-manager: a `cert-manager.io/v1` CertificateRequest in Trellis's namespace,
 * watched (never polled; one watch for all of a replica's requests, watch.ts) until it is Ready,
 * Denied, InvalidRequest or Failed, or the wait times out;
 * then deleted, whatever the outcome (off the certificate's path: it is served without waiting for the
 * DELETE). Trellis never approves a request: cert-manager's approver (or
 * whatever approver the cluster runs) does.
 */
import { createHash } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RequestWatch } from './watch.js';

export interface IssuerRef {
  readonly kind: string;
  readonly name: string;
  readonly group: string;
}

export const DEFAULT_ISSUER: IssuerRef = { kind: 'ClusterIssuer', name: 'trellis-ca', group: 'cert-manager.io' };

export interface RequestSettings {
  readonly kubeConfig: KubeConfig;
  /** Trellis's own namespace: the requests live there. */
  readonly namespace: string;
  readonly issuer: IssuerRef;
  readonly durationSeconds: number;
  /** How long to wait for a terminal condition before giving up on a request. */
  readonly timeoutMs: number;
  /** This replica's name: its requests carry it, so that a restarted replica finds its leftovers. */
  readonly replica: string;
  readonly logger: Logger;
}

export type Outcome =
  | { readonly kind: 'issued'; readonly request: string; readonly certificatePem: string }
  | { readonly kind: 'Denied' | 'InvalidRequest' | 'Failed' | 'Timeout' | 'Deleted' | 'Error'; readonly request: string; readonly message: string };

const GROUP = 'cert-manager.io';
const VERSION = 'v1';
const PLURAL = 'certificaterequests';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'trellis' } as const;
export const REPLICA_LABEL = 'trellis.dev/replica';
export const IDENTITY_ANNOTATION = 'trellis.dev/identity';
const LABEL_VALUE = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;

/** A string as a label value: itself when it is one, else a readable prefix and a hash. */
export function labelValue(s: string): string {
  if (LABEL_VALUE.test(s)) return s;
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 10);
  const prefix = s
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 50)
    .replace(/[^A-Za-z0-9]+$/, '');
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

type Rec = Readonly<Record<string, unknown>>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

function conditions(obj: Rec): Condition[] {
  const status = isRec(obj.status) ? obj.status : {};
  const list = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  return list.filter(isRec).map((c) => ({ type: text(c.type), status: text(c.status), reason: text(c.reason), message: text(c.message) }));
}

function conditionText(c: Condition): string {
  return `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;
}

/** The outcome a request's conditions show, or undefined while it is still pending (with what it waits for). */
export function outcomeOf(request: string, obj: Rec): Outcome | { readonly kind: 'pending'; readonly waiting: string } {
  const conds = conditions(obj);
  const is = (type: string) => conds.find((c) => c.type === type && c.status === 'True');
  const status = isRec(obj.status) ? obj.status : {};
  const ready = conds.find((c) => c.type === 'Ready');
  const certificate =
    typeof status.certificate === 'string' && status.certificate !== '' ? Buffer.from(status.certificate, 'base64').toString('utf8') : undefined;
  if (ready?.status === 'True' && certificate) return { kind: 'issued', request, certificatePem: certificate };
  for (const type of ['Denied', 'InvalidRequest'] as const) {
    const c = is(type);
    if (c) return { kind: type, request, message: conditionText(c) };
  }
  if (ready?.status === 'False' && ready.reason === 'Failed') return { kind: 'Failed', request, message: conditionText(ready) };
  if (!is('Approved')) return { kind: 'pending', waiting: `waiting for approval${ready ? `; ${conditionText(ready)}` : ''}` };
  return { kind: 'pending', waiting: ready ? conditionText(ready) : 'approved, waiting for the issuer' };
}

export class CertificateRequests {
  private readonly api: CustomObjectsApi;
  private readonly deleting = new Set<Promise<void>>();
  /** One watch for all of this replica's requests. */
  private readonly watch: RequestWatch;

  constructor(private readonly s: RequestSettings) {
    this.api = s.kubeConfig.makeApiClient(CustomObjectsApi);
    this.watch = new RequestWatch(s.kubeConfig, this.path(), `${REPLICA_LABEL}=${labelValue(s.replica)}`);
  }

  private path(): string {
    return `/apis/${GROUP}/${VERSION}/namespaces/${this.s.namespace}/${PLURAL}`;
  }

  /** Creates a request for `identity` and waits for its outcome; the request is deleted before this returns. */
  async request(identity: string, csrPem: string, signal: AbortSignal): Promise<Outcome> {
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'CertificateRequest',
      metadata: {
        generateName: 'trellis-',
        namespace: this.s.namespace,
        labels: { ...MANAGED_BY, [REPLICA_LABEL]: labelValue(this.s.replica), ...identityLabels(identity) },
        annotations: { [IDENTITY_ANNOTATION]: identity },
      },
      spec: {
        request: Buffer.from(csrPem).toString('base64'),
        issuerRef: { ...this.s.issuer },
        duration: `${this.s.durationSeconds}s`,
        usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
        isCA: false,
      },
    };
    let created: Rec;
    try {
      created = (await this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.s.namespace, plural: PLURAL, body })) as Rec;
    } catch (err) {
      return { kind: 'Error', request: '(not created)', message: `creating a CertificateRequest in ${this.s.namespace}: ${apiMessage(err)}` };
    }
    const meta = isRec(created.metadata) ? created.metadata : {};
    const name = text(meta.name);
    this.s.logger.debug({ request: name, namespace: this.s.namespace, identity }, 'CertificateRequest created; waiting for its outcome');
    try {
      return await this.await(name, signal);
    } finally {
      // Deleted whatever the outcome, but off the certificate's path: it is served without waiting for the DELETE.
      const deletion = this.delete(name).finally(() => this.deleting.delete(deletion));
      this.deleting.add(deletion);
    }
  }

  /** Resolves once every request whose outcome is known has been deleted (for a clean stop, and tests). */
  async deleted(): Promise<void> {
    while (this.deleting.size > 0) await Promise.all([...this.deleting]);
  }

  /** Follows the request on the replica's one watch until it is done, the wait times out or `signal` aborts. */
  private await(name: string, signal: AbortSignal): Promise<Outcome> {
    return new Promise((resolve) => {
      let waiting = 'not yet seen by cert-manager';
      let done = false;
      let unfollow: (() => void) | undefined;
      const finish = (o: Outcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', stopped);
        unfollow?.();
        resolve(o);
      };
      const stopped = (): void => finish({ kind: 'Error', request: name, message: 'stopped' });
      const timer = setTimeout(() => {
        const watch = this.watch.failure ? `; the watch of CertificateRequests fails: ${this.watch.failure}` : '';
        finish({ kind: 'Timeout', request: name, message: `no outcome within ${this.s.timeoutMs / 1000} s: ${waiting}${watch}` });
      }, this.s.timeoutMs);
      if (signal.aborted) return stopped();
      signal.addEventListener('abort', stopped, { once: true });
      unfollow = this.watch.follow(name, (seen) => {
        if (seen === 'deleted') return finish({ kind: 'Deleted', request: name, message: 'the CertificateRequest was deleted before it was issued' });
        const o = outcomeOf(name, seen);
        if (o.kind === 'pending') waiting = o.waiting;
        else finish(o);
      });
      if (done) unfollow();
    });
  }

  private async delete(name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.s.namespace, plural: PLURAL, name });
    } catch (err) {
      if (statusOf(err) !== 404) this.s.logger.warn({ request: `${this.s.namespace}/${name}`, err: apiMessage(err) }, 'could not delete a CertificateRequest');
    }
  }

  /**
   * Deletes what earlier runs left behind: this replica's requests, and any of Trellis's older than a
   * wait could last (their replica is gone). Returns how many were deleted.
   */
  async deleteLeftovers(now = Date.now()): Promise<number> {
    const list = (await this.api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.s.namespace,
      plural: PLURAL,
      labelSelector: Object.entries(MANAGED_BY)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    })) as Rec;
    const items = (Array.isArray(list.items) ? (list.items as unknown[]) : []).filter(isRec);
    let deleted = 0;
    for (const item of items) {
      const meta = isRec(item.metadata) ? item.metadata : {};
      const labels = isRec(meta.labels) ? meta.labels : {};
      const age = now - Date.parse(text(meta.creationTimestamp));
      if (labels[REPLICA_LABEL] === labelValue(this.s.replica) || age > 2 * this.s.timeoutMs) {
        await this.delete(text(meta.name));
        deleted += 1;
      }
    }
    return deleted;
  }
}

/** Labels that find an identity's requests: its namespace and service account, and a hash of the whole ID. */
export function identityLabels(identity: string): Record<string, string> {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(identity);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 32);
  return {
    'trellis.dev/identity-hash': hash,
    ...(m?.[1] && m[2] ? { 'trellis.dev/namespace': labelValue(m[1]), 'trellis.dev/service-account': labelValue(m[2]) } : {}),
  };
}

/** The HTTP status of a client-node error (ApiException's code), if it has one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown; status?: unknown }).code ?? (err as { status?: unknown }).status;
  return typeof code === 'number' ? code : undefined;
}

/** What the API server said, without client-node's dump of headers. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (isRec(parsed) && typeof parsed.message === 'string') return `${statusOf(err) ?? ''} ${parsed.message}`.trim();
    } catch {
      // not JSON: fall through
    }
  }
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}
