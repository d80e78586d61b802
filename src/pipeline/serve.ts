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
import { resolveInjection } from './injection.js';
import { Certificates } from '../certs/index.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { SourceState } from '../sources/source.js';

/** A running `trellis serve`, with whatever runs beside it in cluster mode. */
export interface ServeHandle {
  readonly running: RunningTrellis;
  /** The leader election (cluster mode only). */
  readonly elector?: LeaderElector;
  /** Workload certificates (cluster mode with --issuer). */
  readonly certificates?: Certificates;
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
    const injection = await resolveInjection(config, undefined);
    const running = await serve(
      config,
      logger,
      startManifestSource(config.manifests, logger.child({ component: 'manifests' }), {
        maxFileBytes: config.manifestMaxBytes,
        settleMs: config.manifestSettleMs,
      }),
      signal,
      injection ? { injection } : {},
    );
    return { running, stop: () => running.close() };
  }
  const kubeConfig = loadKubeConfig(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {});
  const identity = config.identity ?? `${hostname()}-${process.pid}`;
  const injection = await resolveInjection(config, kubeConfig);
  const certificates = await startCertificates(config, kubeConfig, identity, logger);
  const watched = (state: SourceState) => certificates?.setNamespaces(state.inputs.namespaces.map((n) => n.object.metadata.name));
  let source: KubeSource | undefined;
  const start = startKubeSource({
    kubeConfig,
    ...(config.namespaces ? { namespaces: config.namespaces } : {}),
    ...(config.namespaceSelector ? { namespaceSelector: config.namespaceSelector } : {}),
    logger: logger.child({ component: 'kube' }),
  });
  let running: RunningTrellis;
  try {
    running = await serve(
      config,
      logger,
      async (onChange, hooks) => {
        source = await start((state) => {
          watched(state);
          onChange(state);
        }, hooks);
        watched(source.current());
        return source;
      },
      signal,
      { ...(certificates ? { certificates } : {}), ...(injection ? { injection } : {}) },
    );
  } catch (err) {
    certificates?.close();
    throw err;
  }
  // Replicas elect the one that writes TrafficPolicy status; every replica serves xDS.
  const reporting = startStatusReporting({
    kubeConfig,
    namespace: config.leaseNamespace,
    identity,
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
    ...(certificates ? { certificates } : {}),
    async stop() {
      await reporting.stop();
      await running.close();
      certificates?.close();
    },
  };
}

/** Workload certificates, when an issuer is configured: the trust bundle must be readable to start. */
async function startCertificates(config: ServeConfig, kubeConfig: KubeConfig, replica: string, logger: Logger): Promise<Certificates | undefined> {
  if (!config.issuer || !config.trustBundle) return undefined;
  return Certificates.start({
    kubeConfig,
    trustDomain: config.trustDomain,
    domain: config.domain,
    namespace: config.leaseNamespace,
    replica,
    issuer: config.issuer,
    trustBundleFile: config.trustBundle,
    durationSeconds: config.certDuration,
    requestTimeoutMs: config.certRequestTimeout * 1000,
    logger: logger.child({ component: 'certs' }),
  });
}
