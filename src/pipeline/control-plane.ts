/**
 * The running control plane: a source → debounce → model → snapshots (the ADS server serves them),
 * the debug server beside it, and the status loop back (policy statuses and this replica's progress,
 * told to whoever listens). `cli.ts` only parses flags and calls this.
 */
import type { Logger } from 'pino';
import { DEFAULT_XDS_SECURE_ADDRESS, type ServeConfig } from '../config/config.js';
import type { Certificates } from '../certs/index.js';
import { csdsImplementation, csdsServiceDefinition } from '../debug/csds-service.js';
import { createMetrics } from '../debug/metrics.js';
import { SYNCED } from '../debug/routes.js';
import { startDebugServer, type DebugServer } from '../debug/server.js';
import { buildServices } from '../debug/services.js';
import { reachOfClass } from '../debug/syncz.js';
import { startAdmissionServer, WEBHOOK_PATH, type AdmissionServer } from '../inject/server.js';
import { buildModel, type ModelOptions } from '../model/build.js';
import { diagnostic, formatRef, type Diagnostic } from '../diagnostics.js';
import type { MeshModel } from '../model/types.js';
import { policyStatuses, type PolicyProgress, type PolicyStatusView } from '../model/policy-status.js';
import type { BoardEntry } from '../sources/kube/progress-board.js';
import type { Source, SourceState, StartSource } from '../sources/source.js';
import { classifyNode } from '../translate/proxy.js';
import { SnapshotCache } from '../xds/cache.js';
import { AdsServer } from '../xds/server.js';
import { NO_OBSERVER, teeObservers, type XdsObserver } from '../xds/status.js';
import { Debouncer } from './debounce.js';
import { describeInjection, injectionSettings, nativeByFlag, type Injection } from './injection.js';
import { ProblemLog, served, servingSummary } from './logging.js';
import { SnapshotBuilder, type BuildCost, type BuildReport } from './snapshots.js';
import { hostPort } from '../host-port.js';

export interface RunningTrellis {
  readonly xdsPort: number;
  /** The secure xDS port (with --issuer), 0 without one. */
  readonly xdsSecurePort: number;
  readonly debugPort: number;
  /** The admission webhook's port (with --webhook-address and --webhook-cert-dir), 0 without one. */
  readonly webhookPort: number;
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

/**
 * Starts `trellis serve`: the debug and xDS servers, then the source; resolves once the source has
 * synced and the first model is served. Rejects, with everything it started closed again, when a
 * port is taken (a ListenError), the source cannot start, or `signal` aborts first.
 */
export async function serve(
  config: ServeConfig,
  logger: Logger,
  startSource: StartSource,
  signal?: AbortSignal,
  extras: ServeExtras = {},
): Promise<RunningTrellis> {
  const plane = new ControlPlane(config, logger, extras);
  try {
    await plane.listen();
    await plane.connect(startSource, signal);
  } catch (err) {
    await plane.close();
    throw err;
  }
  return plane;
}

/** What runs beside the pipeline in cluster mode, for the debug endpoint and metrics to show. */
export interface ServeExtras {
  readonly certificates?: Certificates;
  /** What the injection webhook injects (resolveInjection); without it, the flags must decide native sidecars themselves. */
  readonly injection?: Injection;
}

/** A port Trellis cannot listen on: `cannot listen on 127.0.0.1:15014 (debug): address already in use`. */
export class ListenError extends Error {
  constructor(what: string, address: { host: string; port: number }, cause: unknown) {
    const text = cause instanceof Error ? cause.message : String(cause);
    // Node's `listen EADDRINUSE: address already in use 127.0.0.1:15014`, also inside grpc-js's message.
    const reason = /listen E[A-Z]+: (.+?) \S*:\d+/.exec(text)?.[1] ?? text;
    super(`cannot listen on ${hostPort(address.host, address.port)} (${what}): ${reason}`, { cause });
    this.name = 'ListenError';
  }
}

async function listening<T>(what: string, address: { host: string; port: number }, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw new ListenError(what, address, err);
  }
}

class ControlPlane implements RunningTrellis {
  readonly cache = new SnapshotCache();
  readonly ads: AdsServer;
  private readonly metrics = createMetrics();
  private readonly snapshots: SnapshotBuilder;
  private readonly debouncer: Debouncer;
  private readonly statusListeners: (() => void)[] = [];
  private readonly modelOptions: ModelOptions;
  private debug: DebugServer | undefined;
  private xds: { host: string; port: number } | undefined;
  private xdsSecure: { host: string; port: number } | undefined;
  private webhook: AdmissionServer | undefined;
  private injection: Injection | undefined;
  private source: Source | undefined;
  private latest: SourceState | undefined;
  private model: MeshModel | undefined;
  private problems: readonly Diagnostic[] = [];
  private readonly problemLog: ProblemLog;
  /** Why the sources have not synced yet, as the source says. */
  private waiting = 'waiting for the sources to sync';

  constructor(
    private readonly config: ServeConfig,
    private readonly logger: Logger,
    private readonly extras: ServeExtras,
  ) {
    extras.certificates?.manager.report(this.metrics.certs);
    this.modelOptions = {
      domain: config.domain,
      trustDomain: config.trustDomain,
      mtls: { enabled: config.issuer !== undefined, defaultMode: config.mtlsMode },
    };
    this.problemLog = new ProblemLog(logger.child({ component: 'config' }));
    const statusChanged = (): void => this.statusChanged();
    const statusEvents: XdsObserver = { ...NO_OBSERVER, streamOpened: statusChanged, streamClosed: statusChanged, acked: statusChanged, nacked: statusChanged };
    this.metrics.cacheCollector(() => ({ encodes: this.cache.encodes, resources: this.cache.size, classes: this.cache.classCount }));
    this.ads = new AdsServer({
      ...(extras.certificates ? extras.certificates.xds : {}),
      cache: this.cache,
      classify: classifyNode,
      logger: logger.child({ component: 'xds' }),
      observer: teeObservers(this.metrics, statusEvents),
      onDemand: (cls) => {
        this.snapshots.demand(cls);
        this.updateProblems();
        this.debug?.changed();
      },
      classGraceMs: config.classGraceMs,
      onRelease: (cls) => {
        this.snapshots.release(cls);
        this.updateProblems();
        this.debug?.changed();
      },
    });
    this.metrics.proxiesCollector(() => this.ads.syncSummary());
    this.ads.servePlaintext(csdsServiceDefinition, csdsImplementation(this.ads, logger.child({ component: 'csds' })));
    extras.certificates?.deliverVia(this.ads);
    this.snapshots = new SnapshotBuilder(this.cache, () => this.ads.classesInUse(), logger.child({ component: 'translate' }));
    this.debouncer = new Debouncer({ minMs: config.debounceMinMs, maxMs: config.debounceMaxMs }, (window) => {
      this.metrics.debounced(window.waitedSeconds, window.changes);
      this.rebuildOrKeep(window.waitedSeconds);
    });
  }

  /** The debug server first (it answers /healthz and /readyz while the sources sync), then xDS (whose requests wait for the first snapshot). */
  async listen(): Promise<void> {
    const { debugAddress, xdsAddress } = this.config;
    this.debug = await listening('debug', debugAddress, () =>
      startDebugServer({
        ...debugAddress,
        introspection: this.ads,
        readiness: () => this.readiness(),
        metrics: this.metrics,
        logger: this.logger.child({ component: 'debug' }),
        problems: () => (this.source ? sourceStatus(this.source.current()) : []).concat(this.problems),
        policies: () => this.policyStatuses(),
        ...(this.extras.certificates ? { certificates: this.extras.certificates.view.bind(this.extras.certificates) } : {}),
        servers: () => this.servers(),
        services: () => buildServices(this.model),
        reach: (proxyClass) => reachOfClass(this.model, proxyClass),
      }),
    );
    await this.listenWebhook();
    const port = await listening('xDS', xdsAddress, () => this.ads.listen(xdsAddress.host, xdsAddress.port));
    this.xds = { host: xdsAddress.host, port };
    this.logger.info({ component: 'xds', ...this.xds, transport: 'plaintext: no authentication, no Secrets' }, 'xDS listening');
    const certs = this.extras.certificates;
    if (!certs) return;
    const secure = this.config.xdsSecureAddress ?? DEFAULT_XDS_SECURE_ADDRESS;
    const securePort = await listening('secure xDS', secure, () => this.ads.listenSecure(secure.host, secure.port, certs.xds.credentials));
    this.xdsSecure = { host: secure.host, port: securePort };
    this.logger.info({ component: 'xds', ...this.xdsSecure, transport: 'TLS: proxies authenticate and receive their Secrets' }, 'secure xDS listening');
  }

  /** The sidecar injection webhook, when configured, injecting as its flags (and, for native sidecars, the API server) say. */
  private async listenWebhook(): Promise<void> {
    const { webhookAddress, webhookCertDir } = this.config;
    if (!webhookAddress || !webhookCertDir) return;
    const logger = this.logger.child({ component: 'webhook' });
    const byFlag = nativeByFlag(this.config);
    const injection = this.extras.injection ?? (byFlag && injectionSettings(this.config, byFlag));
    if (!injection) throw new Error("--native-sidecars auto: the API server's version was not read (resolveInjection)");
    this.injection = injection;
    logger.info({ settings: injection.settings, native: injection.nativeReason }, `admission webhook ${describeInjection(injection)}`);
    try {
      this.webhook = await startAdmissionServer({ ...webhookAddress, certDir: webhookCertDir, settings: injection.settings, logger });
    } catch (err) {
      // A port that is taken says so as the other ports do; a certificate that does not load says so itself.
      throw (err as NodeJS.ErrnoException).code ? new ListenError('webhook', webhookAddress, err) : err;
    }
  }

  /** One line per server beside the debug endpoint, for its index. */
  private servers(): string[] {
    const w = this.webhook;
    const address = this.config.webhookAddress;
    if (!w || !address) return [];
    const cert = `certificate ${w.certificate.subject.replace(/\n/g, ', ')}, expires ${w.certificate.notAfter}`;
    const problem = w.certificateError ? `; ${this.config.webhookCertDir ?? ''} does not load (${w.certificateError}), the last good one serves` : '';
    const injects = this.injection ? [`admission webhook ${describeInjection(this.injection)}`] : [];
    return [`admission webhook: https://${address.host}:${w.port}${WEBHOOK_PATH} (${cert}${problem})`, ...injects];
  }

  get webhookPort(): number {
    return this.webhook?.port ?? 0;
  }

  get xdsSecurePort(): number {
    return this.xdsSecure?.port ?? 0;
  }

  /** Starts the source; resolves once it has synced and the first model is built and served. */
  async connect(startSource: StartSource, signal?: AbortSignal): Promise<void> {
    const onChange = (state: SourceState): void => {
      this.latest = state;
      this.metrics.sourceConnected(state.connected);
      this.debouncer.trigger();
    };
    this.source = await startSource(onChange, { waiting: (reason) => (this.waiting = reason), ...(signal ? { signal } : {}) });
    this.latest = this.source.current();
    this.metrics.sourceConnected(this.latest.connected);
    this.rebuild();
    this.logger.info({ xds: `${this.xds?.host ?? ''}:${this.xdsPort}`, debug: `${this.debug?.address.host ?? ''}:${this.debugPort}` }, 'trellis serving');
  }

  get xdsPort(): number {
    return this.xds?.port ?? 0;
  }

  get debugPort(): number {
    return this.debug?.address.port ?? 0;
  }

  policyStatuses(progress?: ReadonlyMap<string, PolicyProgress>): PolicyStatusView[] {
    return policyStatuses(this.model?.policies ?? [], progress ?? this.localProgress());
  }

  policyProgress(): Map<string, BoardEntry> {
    const local = this.localProgress();
    return new Map(
      (this.model?.policies ?? []).map((p) => [
        formatRef(p.source),
        {
          ...(local.get(formatRef(p.source)) ?? { proxies: 0, acked: 0, rejected: [] }),
          ...(p.inForce?.generation !== undefined ? { generation: p.inForce.generation } : {}),
        },
      ]),
    );
  }

  /**
   * This replica's proxies' progress per TrafficPolicy; those of a class a change is still being built
   * for have acked nothing of it yet. No policy, no progress: the scan of every stream is skipped.
   */
  private localProgress(): Map<string, PolicyProgress> {
    if ((this.model?.policies.length ?? 0) === 0) return new Map();
    return this.ads.sourceProgress('TrafficPolicy', (cls) => this.snapshots.pending(cls));
  }

  onStatusChange(listener: () => void): void {
    this.statusListeners.push(listener);
  }

  /** Closes whatever was started; safe at any stage. */
  async close(): Promise<void> {
    this.source?.close();
    this.debouncer.close();
    this.snapshots.close();
    await Promise.all([this.ads.close(), this.debug?.close(), this.webhook?.close()]);
  }

  /** Ready once the first configuration is served; while the source is out of step, still ready (it serves the last known state), saying why. */
  private readiness(): { ready: boolean; reason: string } {
    if (!this.cache.ready) return { ready: false, reason: this.waiting };
    const state = this.source?.current();
    const reasons = [
      ...(state && !state.connected ? [disconnected(state)] : []),
      ...(this.extras.certificates && !this.extras.certificates.xds.ready() ? [SECURE_PORT_WAITING] : []),
    ];
    return { ready: true, reason: reasons.length === 0 ? SYNCED : reasons.join('; ') };
  }

  private statusChanged(): void {
    this.debug?.changed();
    for (const l of this.statusListeners) l();
  }

  /**
   * A debounced rebuild: one that throws (a bug in the model, translation or the cache) is logged with
   * its stack and counted, and the last good model and snapshots keep serving; the next change tries again.
   */
  private rebuildOrKeep(waitedSeconds: number): void {
    const lastGood = this.model;
    try {
      this.rebuild(waitedSeconds);
    } catch (err) {
      this.model = lastGood;
      this.metrics.rebuildFailed();
      this.logger.error({ err }, 'rebuild failed; serving the last good configuration');
    }
  }

  /**
   * Builds the model and every class's snapshot; logs what is served and what the rebuild cost (after
   * `waitedSeconds` of debounce). Once the cache serves, the classes are built a batch per turn of the
   * event loop (SnapshotBuilder.setModelInTurns), so the first proxies get the change while the rest
   * are built; the first build is whole, as serving starts with it.
   */
  private rebuild(waitedSeconds = 0): void {
    const latest = this.latest;
    if (!latest) return;
    const t0 = performance.now();
    const model = buildModel(latest.inputs, this.modelOptions, this.model);
    const modelMs = performance.now() - t0;
    const built = (cost: BuildCost): void => {
      const serving = served(model, this.updateProblems());
      const ms = (n: number) => Math.round(n * 10) / 10;
      const { classes, translateMs, cacheMs, encoded } = cost;
      const rebuild = { debounceMs: ms(waitedSeconds * 1000), modelMs: ms(modelMs), translateMs: ms(translateMs), cacheMs: ms(cacheMs), classes, encoded };
      this.logger.info({ ...serving, rebuild }, servingSummary(serving));
      this.statusChanged();
    };
    if (!this.cache.ready) {
      this.snapshots.setModel(model);
      this.model = model;
      built(this.snapshots.lastBuild);
      return;
    }
    this.snapshots.setModelInTurns(model, CLASSES_PER_TURN, (outcome) => {
      if ('cost' in outcome) return built(outcome.cost);
      // The classes built before the one that threw serve the new model; the rest keep the last.
      this.metrics.rebuildFailed();
      this.logger.error({ err: outcome.error }, 'rebuild failed; the classes not yet built serve the last good configuration');
      this.updateProblems();
      this.statusChanged();
    });
    this.model = model;
  }

  /** Everything wrong now, from the source, the model and translation; logs what appeared and what was fixed. */
  private updateProblems(): { errors: number; warnings: number } {
    const { latest, model } = this;
    const modelProblems = model?.diagnostics ?? [];
    this.problems = [
      ...(latest?.problems ?? []),
      ...(latest?.locate ? latest.locate(modelProblems) : modelProblems),
      ...buildProblems(this.snapshots.report()),
    ];
    return this.problemLog.update(this.problems);
  }
}

/** What the snapshot builder found wrong. */
function buildProblems(report: BuildReport): Diagnostic[] {
  return [...report.translation, ...report.resources];
}

/**
 * Classes built per turn of the event loop on a change: at ~50 µs a class (translation, the cache,
 * the responses), a turn of about 5 ms, after which the responses written go out and ACKs are read.
 */
const CLASSES_PER_TURN = 100;

/** The plaintext port serves; the secure one drops connections until cert-manager has issued Trellis's certificate. */
const SECURE_PORT_WAITING = "the secure xDS port waits for Trellis's own certificate from cert-manager (see /debug/certz)";

/** A source that lost its connection serves the last state it knew; say so. */
function sourceStatus(state: SourceState): Diagnostic[] {
  return state.connected ? [] : [diagnostic('warning', undefined, undefined, disconnected(state))];
}

function disconnected(state: SourceState): string {
  return `source disconnected, serving the last known state: ${state.reason ?? 'unknown reason'}`;
}
