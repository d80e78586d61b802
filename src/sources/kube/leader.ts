/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: every replica serves xDS;
 * only the holder of the lease writes status. A replica acquires the lease when it is free or has
 * not been renewed for a whole lease duration (measured on its own clock from when it last saw the
 * record change, so clock skew between replicas does not matter), renews it while it holds it, and
 * stops leading when it cannot renew within the renew deadline. On stop it releases the lease so
 * that another replica takes over at once.
 */
import { EventEmitter } from 'node:events';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  /** This replica's identity (pod name, or hostname and pid). */
  readonly identity: string;
  readonly leaseDurationSeconds?: number;
  /** How long a leader keeps trying to renew before it gives up leading (ms); default 2/3 of the lease. */
  readonly renewDeadlineMs?: number;
  /** How often to try to acquire or renew (ms); default 1/5 of the lease. */
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
}

interface Observed {
  readonly holder: string;
  readonly renewTime: string;
  /** Local time when this record was first seen. */
  readonly at: number;
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Emits 'leading' when this replica becomes the leader and 'following' when it stops being it. */
export class LeaderElector extends EventEmitter {
  private readonly api: CoordinationV1Api;
  private readonly durationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  private lastRenew = 0;
  private observed: Observed | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    super();
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.durationMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? (this.durationMs * 2) / 3;
    this.retryMs = opts.retryPeriodMs ?? this.durationMs / 5;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops taking part; a leader releases the lease (unless `release` is false: as if the process died). */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading && release) await this.release();
    this.setLeading(false);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = Date.now();
      this.setLeading(ok || (this.leading && Date.now() - this.lastRenew < this.renewDeadlineMs));
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, lease: this.opts.name }, 'lease: could not read or update');
      if (this.leading && Date.now() - this.lastRenew >= this.renewDeadlineMs) this.setLeading(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.opts.logger.info(
      { lease: this.opts.name, identity: this.opts.identity },
      leading ? 'became the leader: writing status' : 'stopped leading: not writing status',
    );
    this.emit(leading ? 'leading' : 'following');
  }

  private spec(previous: V1Lease | undefined): V1Lease['spec'] {
    const now = new V1MicroTime();
    const mine = previous?.spec?.holderIdentity === this.opts.identity;
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: this.durationMs / 1000,
      acquireTime: mine && previous?.spec?.acquireTime ? previous.spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
  }

  /** True when this replica holds the lease after the attempt. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(undefined) } });
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = lease.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const expired = this.observed.at + (lease.spec?.leaseDurationSeconds ?? this.durationMs / 1000) * 1000 <= Date.now();
    if (holder !== '' && holder !== this.opts.identity && !expired) return false;
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: this.spec(lease) } });
      return true;
    } catch (err) {
      if (statusCode(err) === 409) return false; // another replica updated it first
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() } },
      });
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, lease: name }, 'lease: could not release');
    }
  }
}
