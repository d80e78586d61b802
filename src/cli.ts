#!/usr/bin/env node
/**
 * The composition root: parses the command line, wires the stages and starts the servers.
 * No logic of its own lives here.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { ConfigError, loadServeConfig, SERVE_FLAGS, type ServeConfig } from './config/config.js';
import { createMetrics } from './debug/metrics.js';
import { startDebugServer } from './debug/server.js';
import { watchResourcesFile } from './sources/resources-file.js';
import { SnapshotCache, type DesiredSnapshot } from './xds/cache.js';
import { Debouncer } from './xds/debounce.js';
import { AdsServer } from './xds/server.js';

/** Every proxy gets the same snapshot until the mesh model assigns proxy classes. */
const DEFAULT_CLASS = 'default';

export interface RunningTrellis {
  readonly xdsPort: number;
  readonly debugPort: number;
  readonly cache: SnapshotCache;
  close(): Promise<void>;
}

/** Starts `trellis serve`: the source, the debounced build into the cache, the ADS and debug servers. */
export async function serve(config: ServeConfig, logger: Logger): Promise<RunningTrellis> {
  const cache = new SnapshotCache();
  const metrics = createMetrics();
  metrics.cacheCollector(() => ({ encodes: cache.encodes, resources: cache.size }));
  const ads = new AdsServer({ cache, classify: () => DEFAULT_CLASS, logger: logger.child({ component: 'xds' }), observer: metrics });

  let latest: DesiredSnapshot | undefined;
  const debouncer = new Debouncer({ minMs: config.debounceMinMs, maxMs: config.debounceMaxMs }, (window) => {
    if (!latest) return;
    metrics.debounced(window.waitedSeconds, window.changes);
    for (const e of cache.set(DEFAULT_CLASS, latest)) {
      logger.error({ kind: e.kind, resource: e.name, sources: e.sources }, e.message);
    }
    cache.markReady();
  });
  const source = await watchResourcesFile(
    config.resources,
    (desired) => {
      latest = desired;
      debouncer.trigger();
    },
    (err) => logger.error({ file: config.resources }, `${err.message}; the last good version keeps serving`),
  );

  const xdsPort = await ads.listen(config.xdsAddress.host, config.xdsAddress.port);
  const debug = await startDebugServer({
    host: config.debugAddress.host,
    port: config.debugAddress.port,
    introspection: ads,
    readiness: () => (cache.ready ? { ready: true, reason: 'sources synced' } : { ready: false, reason: 'waiting for the sources to sync' }),
    metrics,
    logger: logger.child({ component: 'debug' }),
  });
  logger.info({ xds: `${config.xdsAddress.host}:${xdsPort}`, debug: `${debug.address.host}:${debug.address.port}` }, 'trellis serving');
  return {
    xdsPort,
    debugPort: debug.address.port,
    cache,
    async close() {
      source.close();
      debouncer.close();
      await Promise.all([ads.close(), debug.close()]);
    },
  };
}

const USAGE = `Usage: trellis <command> [flags]

Commands:
  serve     run the control plane: xDS server and debug endpoint

Run 'trellis <command> --help' for a command's flags.`;

function serveUsage(): string {
  const lines = Object.values(SERVE_FLAGS).map((f) => `  --${f.flag.padEnd(16)} ${f.help} (env ${f.env})`);
  return `Usage: trellis serve --resources FILE [flags]\n\nFlags:\n${lines.join('\n')}`;
}

async function runServe(args: string[]): Promise<number> {
  const options = Object.fromEntries(Object.values(SERVE_FLAGS).map((f) => [f.flag, { type: 'string' as const }]));
  const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    console.log(serveUsage());
    return 0;
  }
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') flags[k] = v;
  const config = loadServeConfig(flags, process.env);
  const logger = pino({ level: config.logLevel, base: { app: 'trellis' } });
  const running = await serve(config, logger);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  logger.info('shutting down');
  await running.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await runServe(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`trellis: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`trellis ${command}: ${(err as Error).message}`);
      return 2;
    }
    console.error(`trellis ${command}: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
