/**
 * `trellis serve` as its settings say: the control plane on a manifests directory, or on a cluster,
 * where replicas elect the one that writes TrafficPolicy status (every replica serves xDS).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/config.js';
import { loadKubeConfig, startKubeSource, type KubeSource } from '../sources/kube/index.js';
import type { LeaderElector } from '../sources/kube/leader.js';
import { startStatusReporting } from './status-reporting.js';
import { startManifestSource } from '../sources/manifests/index.js';
import { serve, type RunningTrellis } from './control-plane.js';

/** A running `trellis serve`, with whatever runs beside it in cluster mode. */
export interface ServeHandle {
  readonly running: RunningTrellis;
  /** The leader election (cluster mode only). */
  readonly elector?: LeaderElector;
  stop(): Promise<void>;
}

export interface RunServeOptions {
  /** Aborting it during the start gives the start up: whatever started is closed, and runServe rejects. */
  readonly signal?: AbortSignal;
  /** Tests shorten these. */
  readonly leaseDurationSeconds?: number;
  readonly statusIntervalMs?: number;
  readonly boardPollMs?: number;
}

/**
 * `trellis serve` as the settings say: from a manifests directory, or from a cluster, where
 * replicas elect the one that writes TrafficPolicy status (every replica serves xDS).
 */
export async function runServe(config: ServeConfig, logger: Logger, opts: RunServeOptions = {}): Promise<ServeHandle> {
  const { signal, ...election } = opts;
  if (config.manifests) {
    const running = await serve(
      config,
      logger,
      startManifestSource(config.manifests, logger.child({ component: 'manifests' }), {
        maxFileBytes: config.manifestMaxBytes,
        settleMs: config.manifestSettleMs,
      }),
      signal,
    );
    return { running, stop: () => running.close() };
  }
  const kubeConfig = loadKubeConfig(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {});
  let source: KubeSource | undefined;
  const start = startKubeSource({
    kubeConfig,
    ...(config.namespaces ? { namespaces: config.namespaces } : {}),
    ...(config.namespaceSelector ? { namespaceSelector: config.namespaceSelector } : {}),
    logger: logger.child({ component: 'kube' }),
  });
  const running = await serve(config, logger, async (onChange, hooks) => (source = await start(onChange, hooks)), signal);
  // Replicas elect the one that writes TrafficPolicy status; every replica serves xDS.
  const reporting = startStatusReporting({
    kubeConfig,
    namespace: config.leaseNamespace,
    identity: config.identity ?? `${hostname()}-${process.pid}`,
    reporter: {
      policyStatuses: (p) => running.policyStatuses(p),
      policyProgress: () => running.policyProgress(),
      onStatusChange: (l) => running.onStatusChange(l),
    },
    stored: (namespace, name) => source?.stored('trafficPolicies', namespace, name),
    logger,
    ...election,
  });
  return {
    running,
    elector: reporting.elector,
    async stop() {
      await reporting.stop();
      await running.close();
    },
  };
}
