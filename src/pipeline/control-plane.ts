/**
 * The running control plane: a source → debounce → model → snapshots (the ADS server serves them),
 * the debug server beside it, and the status loop back (policy statuses and this replica's progress,
 * told to whoever listens). `cli.ts` only parses flags and calls this.
 */
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/config.js';
import { createMetrics } from '../debug/metrics.js';
import { startDebugServer } from '../debug/server.js';
import { buildModel, type ModelOptions } from '../model/build.js';
import { modelProblems, type Problem } from '../model/problems.js';
import type { MeshModel } from '../model/types.js';
import { policyStatuses, type PolicyProgress, type PolicyStatusView } from '../policy/status.js';
import type { BoardEntry } from '../sources/kube/progress-board.js';
import type { SourceState, StartSource } from '../sources/source.js';
import { classifyNode } from '../translate/proxy.js';
import { translationProblem } from '../translate/translation.js';
import { SnapshotCache } from '../xds/cache.js';
import { AdsServer } from '../xds/server.js';
import { NO_OBSERVER, teeObservers, type XdsObserver } from '../xds/status.js';
import { Debouncer } from './debounce.js';
import { SnapshotBuilder, type BuildReport } from './snapshots.js';

export interface RunningTrellis {
  readonly xdsPort: number;
  readonly debugPort: number;
  readonly cache: SnapshotCache;
  readonly ads: AdsServer;
  /** Every TrafficPolicy's status now: Accepted, Conflicted, Programmed (from `progress`, by default this replica's). */
  policyStatuses(progress?: ReadonlyMap<string, PolicyProgress>): PolicyStatusView[];
  /** This replica's progress for every TrafficPolicy of the model, with the generation it serves. */
  policyProgress(): Map<string, BoardEntry>;
  /** Called when policy statuses may have changed (a new model, an ACK or NACK, a proxy come or gone). */
  onStatusChange(listener: () => void): void;
  close(): Promise<void>;
}

/** Starts `trellis serve`: a source → model → snapshots (debounced) → the ADS and debug servers. */
export async function serve(config: ServeConfig, logger: Logger, startSource: StartSource): Promise<RunningTrellis> {
  const modelOptions: ModelOptions = { domain: config.domain, trustDomain: config.trustDomain };
  const cache = new SnapshotCache();
  const metrics = createMetrics();
  const statusListeners: (() => void)[] = [];
  const statusChanged = (): void => statusListeners.forEach((l) => l());
  const statusEvents: XdsObserver = { ...NO_OBSERVER, streamOpened: statusChanged, streamClosed: statusChanged, acked: statusChanged, nacked: statusChanged };
  metrics.cacheCollector(() => ({ encodes: cache.encodes, resources: cache.size }));
  let builder: SnapshotBuilder | undefined;
  const ads = new AdsServer({
    cache,
    classify: classifyNode,
    logger: logger.child({ component: 'xds' }),
    observer: teeObservers(metrics, statusEvents),
    onDemand: (cls) => builder?.demand(cls),
  });
  builder = new SnapshotBuilder(cache, () => ads.classesInUse(), logger.child({ component: 'translate' }));
  const snapshots = builder;

  let latest: SourceState | undefined;
  let model: MeshModel | undefined;
  const currentPolicyStatuses = (progress?: ReadonlyMap<string, PolicyProgress>): PolicyStatusView[] =>
    policyStatuses(model?.policies ?? [], progress ?? ads.sourceProgress('TrafficPolicy '));
  const policyProgress = (): Map<string, BoardEntry> => {
    const local = ads.sourceProgress('TrafficPolicy ');
    return new Map(
      (model?.policies ?? []).map((p) => [
        p.source,
        { ...(local.get(p.source) ?? { proxies: 0, acked: 0, rejected: [] }), ...(p.inForce?.generation !== undefined ? { generation: p.inForce.generation } : {}) },
      ]),
    );
  };
  let problems: readonly Problem[] = [];
  const rebuild = (): void => {
    if (!latest) return;
    model = buildModel(latest.inputs, modelOptions, model);
    for (const p of modelProblems(model)) logger[p.severity === 'error' ? 'error' : 'warn']({ object: p.object, field: p.field, file: p.file }, p.message);
    snapshots.setModel(model);
    problems = [...latest.problems, ...modelProblems(model), ...buildProblems(snapshots.report())];
    statusChanged();
  };
  const debouncer = new Debouncer({ minMs: config.debounceMinMs, maxMs: config.debounceMaxMs }, (window) => {
    metrics.debounced(window.waitedSeconds, window.changes);
    rebuild();
  });
  const source = await startSource((state) => {
    latest = state;
    metrics.sourceConnected(state.connected);
    debouncer.trigger();
  });
  latest = source.current();
  metrics.sourceConnected(latest.connected);
  rebuild();

  const xdsPort = await ads.listen(config.xdsAddress.host, config.xdsAddress.port);
  const debug = await startDebugServer({
    host: config.debugAddress.host,
    port: config.debugAddress.port,
    introspection: ads,
    readiness: () => (cache.ready ? { ready: true, reason: 'sources synced' } : { ready: false, reason: 'waiting for the sources to sync' }),
    metrics,
    logger: logger.child({ component: 'debug' }),
    problems: () => sourceStatus(source.current()).concat(problems),
    policies: () => currentPolicyStatuses(),
  });
  logger.info({ xds: `${config.xdsAddress.host}:${xdsPort}`, debug: `${debug.address.host}:${debug.address.port}` }, 'trellis serving');
  return {
    xdsPort,
    debugPort: debug.address.port,
    cache,
    ads,
    policyStatuses: currentPolicyStatuses,
    policyProgress,
    onStatusChange: (listener) => statusListeners.push(listener),
    async close() {
      source.close();
      debouncer.close();
      await Promise.all([ads.close(), debug.close()]);
    },
  };
}

/** What the snapshot builder found wrong, as problems. */
function buildProblems(report: BuildReport): Problem[] {
  return [
    ...report.translation.map(translationProblem),
    ...report.resources.map((e) => ({ severity: 'error' as const, object: e.sources.join(', '), message: `${e.kind} ${e.name}: ${e.message}` })),
  ];
}

/** A source that lost its connection serves the last state it knew; say so. */
function sourceStatus(state: SourceState): Problem[] {
  return state.connected ? [] : [{ severity: 'warning', message: `source disconnected, serving the last known state: ${state.reason ?? 'unknown reason'}` }];
}

