/**
 * Writes TrafficPolicy status back to the cluster, through the status subresource, with
 * observedGeneration. Only the holder of the lease writes (every replica serves xDS); a replica
 * that becomes the holder rewrites whatever is stale, one that loses the lease stops at once.
 *
 * A pass compares each policy's conditions with the status on the newest version of the object
 * the source has watched, and patches only what differs: writing is idempotent, and a status the
 * writer just wrote is not written again. lastTransitionTime moves only when a condition's status
 * does. Passes are coalesced: many ACKs in a burst cost one pass.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PolicyCondition, PolicyStatusView } from '../../model/policy-status.js';
import { deepEqual } from './store.js';

export interface Leadership {
  readonly isLeader: boolean;
  on(event: 'leading' | 'following', listener: () => void): unknown;
  off(event: 'leading' | 'following', listener: () => void): unknown;
}

export interface StatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  readonly leadership: Leadership;
  /** Every policy's status as the replicas together see it now. */
  readonly statuses: () => Promise<readonly PolicyStatusView[]>;
  /** The newest watched version of a TrafficPolicy (its metadata and status), if known. */
  readonly stored: (namespace: string, name: string) => unknown;
  readonly logger: Logger;
  /** At most one pass per this many ms (default 1000). */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

interface StoredPolicy {
  readonly metadata?: { readonly uid?: string; readonly generation?: number };
  readonly status?: { readonly observedGeneration?: number; readonly conditions?: readonly StoredCondition[] };
}

interface StoredCondition extends PolicyCondition {
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
}

const GROUP = { group: 'trellis.dev', version: 'v1alpha1', plural: 'trafficpolicies' } as const;

/** The status to write for a view, keeping transition times of conditions whose status did not move. */
export function desiredStatus(view: PolicyStatusView, current: StoredPolicy['status'], now: Date): NonNullable<StoredPolicy['status']> {
  const generation = view.generation ?? 0;
  const conditions = view.conditions.map((c): StoredCondition => {
    const before = current?.conditions?.find((b) => b.type === c.type);
    const lastTransitionTime = before?.lastTransitionTime && before.status === c.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { type: c.type, status: c.status, reason: c.reason, message: c.message.slice(0, 32_768), observedGeneration: generation, lastTransitionTime };
  });
  return { observedGeneration: generation, conditions };
}

export class StatusWriter {
  private readonly api: CustomObjectsApi;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Consecutive passes with a failed write: the next pass waits longer (up to 30 s). */
  private failures = 0;
  private failedThisPass = false;
  private readonly onLeading = () => {
    this.opts.logger.info('leading: rewriting every stale TrafficPolicy status');
    this.schedule();
  };

  constructor(private readonly opts: StatusWriterOptions) {
    this.api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    opts.leadership.on('leading', this.onLeading);
    if (opts.leadership.isLeader) this.schedule();
  }

  /** Something may have changed the statuses: a pass soon (only when leading). */
  schedule(): void {
    if (this.closed || !this.opts.leadership.isLeader) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.running = this.pass().finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
      },
      Math.min((this.opts.intervalMs ?? 1000) * 2 ** this.failures, 30_000),
    );
  }

  /** Stops writing; resolves once a pass in progress has ended. */
  async close(): Promise<void> {
    this.closed = true;
    this.opts.leadership.off('leading', this.onLeading);
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    this.failedThisPass = false;
    let views: readonly PolicyStatusView[];
    try {
      views = await this.opts.statuses();
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not gather the policy statuses; retrying');
      this.failures = Math.min(this.failures + 1, 5);
      this.again = true;
      return;
    }
    let written = 0;
    for (const view of views) {
      if (this.closed || !this.opts.leadership.isLeader) break;
      if (await this.write(view)) written++;
    }
    this.opts.logger.debug({ policies: views.length, written }, 'status pass');
    this.failures = this.failedThisPass ? Math.min(this.failures + 1, 5) : 0;
    if (this.failedThisPass) this.again = true;
  }

  /** Writes one policy's status if it is stale; true when it wrote. */
  private async write(view: PolicyStatusView): Promise<boolean> {
    const stored = this.opts.stored(view.namespace, view.name) as StoredPolicy | undefined;
    if (!stored) return false;
    // The model has not caught up with this object yet (or it is another object of the same name).
    if (stored.metadata?.uid !== view.uid || (stored.metadata?.generation ?? 0) !== (view.generation ?? 0)) return false;
    const status = desiredStatus(view, stored.status, (this.opts.now ?? (() => new Date()))());
    if (deepEqual(status, stored.status)) return false;
    try {
      await this.api.patchNamespacedCustomObjectStatus({
        ...GROUP,
        namespace: view.namespace,
        name: view.name,
        body: [{ op: 'add', path: '/status', value: status }],
      });
      this.opts.logger.info(
        { policy: view.policy, generation: view.generation, conditions: status.conditions?.map((c) => `${c.type}=${c.status} (${c.reason})`) },
        'status written',
      );
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 404) return false; // deleted meanwhile
      this.opts.logger.warn({ policy: view.policy, err: (err as Error).message }, 'could not write status; retrying');
      this.failedThisPass = true;
      return false;
    }
  }
}
