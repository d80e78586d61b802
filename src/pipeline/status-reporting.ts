/**
 * Status reporting in cluster mode, whole: replicas elect a status writer on a Lease; every replica
 * publishes its proxies' progress per policy on its progress board; the lease holder adds up every
 * replica's progress and writes TrafficPolicy status. Every replica serves xDS; this only reports.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PolicyProgress, PolicyStatusView } from '../model/policy-status.js';
import { Debouncer } from './debounce.js';
import { LeaderElector } from '../sources/kube/leader.js';
import { combineProgress, ProgressBoard, type BoardEntry } from '../sources/kube/progress-board.js';
import { StatusWriter } from '../sources/kube/status-writer.js';

/** What the running control plane tells the reporting. */
export interface PolicyReporter {
  /** Statuses from the given progress (all replicas'). */
  policyStatuses(progress: ReadonlyMap<string, PolicyProgress>): PolicyStatusView[];
  /** This replica's progress per policy, with the generation it serves. */
  policyProgress(): Map<string, BoardEntry>;
  /** Called when statuses may have changed. */
  onStatusChange(listener: () => void): void;
}

export interface StatusReportingOptions {
  readonly kubeConfig: KubeConfig;
  /** Where the Lease and the progress boards live. */
  readonly namespace: string;
  readonly identity: string;
  readonly reporter: PolicyReporter;
  /** The newest watched version of a TrafficPolicy. */
  readonly stored: (namespace: string, name: string) => unknown;
  readonly logger: Logger;
  /** Tests shorten these. */
  readonly leaseDurationSeconds?: number;
  readonly statusIntervalMs?: number;
  readonly boardPollMs?: number;
}

export interface StatusReporting {
  readonly elector: LeaderElector;
  stop(): Promise<void>;
}

export function startStatusReporting(o: StatusReportingOptions): StatusReporting {
  const elector = new LeaderElector({
    kubeConfig: o.kubeConfig,
    namespace: o.namespace,
    name: 'trellis-status-writer',
    identity: o.identity,
    ...(o.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: o.leaseDurationSeconds } : {}),
    logger: o.logger.child({ component: 'lease' }),
  });
  const board = new ProgressBoard({
    kubeConfig: o.kubeConfig,
    namespace: o.namespace,
    identity: o.identity,
    logger: o.logger.child({ component: 'progress' }),
  });
  const publisher = new Debouncer({ minMs: 200, maxMs: 1000 }, () => {
    board
      .publish(Object.fromEntries(o.reporter.policyProgress()))
      .catch((err: unknown) => o.logger.warn({ err: (err as Error).message }, 'could not publish progress'));
  });
  const writer = new StatusWriter({
    kubeConfig: o.kubeConfig,
    leadership: elector,
    statuses: async () => {
      const own = o.reporter.policyProgress();
      const generations = new Map([...own].map(([policy, e]) => [policy, e.generation]));
      return o.reporter.policyStatuses(combineProgress(own, await board.others(), generations));
    },
    stored: o.stored,
    logger: o.logger.child({ component: 'status' }),
    ...(o.statusIntervalMs !== undefined ? { intervalMs: o.statusIntervalMs } : {}),
  });
  // Unchanged progress is republished (a heartbeat: boards not refreshed are ignored), and the writer
  // reads the other boards once a second (a no-op unless leading; a write only when a status is stale).
  const timers = [setInterval(() => publisher.trigger(), 5_000), setInterval(() => writer.schedule(), o.boardPollMs ?? 1_000)];
  for (const t of timers) t.unref();
  o.reporter.onStatusChange(() => {
    publisher.trigger();
    writer.schedule();
  });
  publisher.trigger();
  elector.start();
  return {
    elector,
    async stop() {
      for (const t of timers) clearInterval(t);
      publisher.close();
      await writer.close();
      await board.remove();
      await elector.stop();
    },
  };
}
