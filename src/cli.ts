#!/usr/bin/env node
/**
 * The composition root: parses the command line, wires the stages and starts the servers.
 * No logic of its own lives here.
 */
import { hostname } from 'node:os';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import {
  BOOTSTRAP_FLAGS,
  bootstrapConfigSchema,
  ConfigError,
  loadConfig,
  loadValidateConfig,
  RENDER_FLAGS,
  renderConfigSchema,
  SERVE_FLAGS,
  serveConfigSchema,
  VALIDATE_FLAGS,
  type FlagSpec,
  type ServeConfig,
} from './config/config.js';
import { runRender, runValidate, type CommandIO } from './cli/offline.js';
import { versionLine } from './cli/version.js';
import { createMetrics } from './debug/metrics.js';
import { startDebugServer } from './debug/server.js';
import { renderBootstrap } from './envoy/bootstrap.js';
import { buildModel, type ModelOptions } from './model/build.js';
import type { MeshModel } from './model/types.js';
import { policyStatuses, type PolicyProgress, type PolicyStatusView } from './policy/status.js';
import { modelProblems, type Problem } from './model/problems.js';
import { startManifestSource } from './sources/manifests/index.js';
import { loadKubeConfig, startKubeSource, type KubeSource } from './sources/kube/index.js';
import type { BoardEntry } from './sources/kube/progress-board.js';
import { startStatusReporting } from './sources/kube/status-reporting.js';
import type { LeaderElector } from './sources/kube/leader.js';
import type { SourceState, StartSource } from './sources/source.js';
import { classifyNode } from './translate/proxy.js';
import { SnapshotBuilder, type BuildReport } from './translate/snapshots.js';
import { translationProblem } from './translate/translation.js';
import { SnapshotCache } from './xds/cache.js';
import { Debouncer } from './xds/debounce.js';
import { AdsServer } from './xds/server.js';
import { NO_OBSERVER, teeObservers, type XdsObserver } from './xds/status.js';

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

/** A running `trellis serve`, with whatever runs beside it in cluster mode. */
export interface ServeHandle {
  readonly running: RunningTrellis;
  /** The leader election (cluster mode only). */
  readonly elector?: LeaderElector;
  stop(): Promise<void>;
}

/**
 * `trellis serve` as the settings say: from a manifests directory, or from a cluster, where
 * replicas elect the one that writes TrafficPolicy status (every replica serves xDS).
 */
export async function runServe(config: ServeConfig, logger: Logger, election?: { leaseDurationSeconds?: number; statusIntervalMs?: number; boardPollMs?: number }): Promise<ServeHandle> {
  if (config.manifests) {
    const running = await serve(config, logger, startManifestSource(config.manifests, logger.child({ component: 'manifests' })));
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
  const running = await serve(config, logger, async (onChange) => (source = await start(onChange)));
  // Replicas elect the one that writes TrafficPolicy status; every replica serves xDS.
  const reporting = startStatusReporting({
    kubeConfig,
    namespace: config.leaseNamespace,
    identity: config.identity ?? `${hostname()}-${process.pid}`,
    reporter: { policyStatuses: (p) => running.policyStatuses(p), policyProgress: () => running.policyProgress(), onStatusChange: (l) => running.onStatusChange(l) },
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

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** What the command's positional arguments are, for its help; none when it takes none. */
  readonly positionals?: string;
  run(flags: Record<string, string>, positionals: readonly string[]): Promise<number>;
}

const PROCESS_IO: CommandIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  readStdin: () => text(process.stdin),
};

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: {
    summary: 'run the control plane: watch the manifests, serve xDS and the debug endpoint',
    usage: 'trellis serve (--manifests DIR | --kubeconfig FILE | --in-cluster) [flags]',
    flags: SERVE_FLAGS,
    async run(flags) {
      const config = loadConfig(serveConfigSchema, SERVE_FLAGS, flags, process.env);
      const logger = pino({ level: config.logLevel, base: { app: 'trellis' } });
      const handle = await runServe(config, logger);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      logger.info('shutting down');
      await handle.stop();
      return 0;
    },
  },
  render: {
    summary: 'print the configuration one proxy would receive (review a GitOps change without a cluster)',
    usage: 'trellis render --manifests DIR --proxy POD.NAMESPACE [--mode sidecar|proxyless] [--region R] [--zone Z] [-o text|json]',
    flags: RENDER_FLAGS,
    run: (flags) => runRender(loadConfig(renderConfigSchema, RENDER_FLAGS, flags, {}), PROCESS_IO),
  },
  validate: {
    summary: 'check the manifests: every error and warning with file, document, line, object and field',
    usage: 'trellis validate [PATH...] [--manifests DIR] [-o text|json]',
    positionals: 'PATH: a file, a directory (read recursively) or - (standard input); several at once',
    flags: VALIDATE_FLAGS,
    run: (flags, paths) => runValidate(loadValidateConfig(flags, paths), PROCESS_IO),
  },
  bootstrap: {
    summary: 'print the bootstrap of an Envoy sidecar (YAML) or a proxyless gRPC application (JSON)',
    usage: 'trellis bootstrap --mode sidecar|proxyless --pod NAME --namespace NS --ip IP --xds-address HOST:PORT [flags]',
    flags: BOOTSTRAP_FLAGS,
    async run(flags) {
      const config = loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, flags, process.env);
      process.stdout.write(renderBootstrap(config).text);
      return 0;
    },
  },
  version: {
    summary: "print Trellis's version and Node.js's (also: trellis --version)",
    usage: 'trellis version',
    flags: {},
    async run() {
      console.log(await versionLine());
      return 0;
    },
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: trellis <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'trellis <command> --help' for a command's flags.`;
}

function commandUsage(c: Command): string {
  const lines = Object.values(c.flags).map((f) => `  ${f.short ? `-${f.short}, ` : '    '}--${f.flag.padEnd(16)} ${f.help}${f.env ? ` (env ${f.env})` : ''}`);
  const positionals = c.positionals ? `\n\nArguments:\n  ${c.positionals}` : '';
  return `Usage: ${c.usage}${positionals}${lines.length > 0 ? `\n\nFlags:\n${lines.join('\n')}` : ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name === '--version' ? 'version' : name];
  if (!command) {
    console.error(`trellis: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const options = Object.fromEntries(
      Object.values(command.flags).map((f) => [f.flag, { type: f.boolean ? ('boolean' as const) : ('string' as const), ...(f.short ? { short: f.short } : {}) }]),
    );
    const { values, positionals } = parseArgs({ args: rest, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: command.positionals !== undefined });
    if (values.help) {
      console.log(commandUsage(command));
      return 0;
    }
    const flags: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (k !== 'help' && v !== undefined) flags[k] = String(v);
    return await command.run(flags, positionals);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    console.error(`trellis ${name}: ${(err as Error).message}`);
    return err instanceof ConfigError || code.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
