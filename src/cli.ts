#!/usr/bin/env node
/**
 * The composition root: parses the command line, wires the stages and starts the servers.
 * No logic of its own lives here.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  BOOTSTRAP_FLAGS,
  bootstrapConfigSchema,
  ConfigError,
  loadConfig,
  RENDER_FLAGS,
  renderConfigSchema,
  SERVE_FLAGS,
  serveConfigSchema,
  VALIDATE_FLAGS,
  validateConfigSchema,
  type FlagSpec,
} from './config/config.js';
import { renderBootstrap } from './bootstrap/render.js';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { buildModel, type ModelOptions } from './model/build.js';
import { formatPolicyStatus, policyStatuses } from './policy/status.js';
import { createLogger, routeGrpcLogs, runServe, type ServeHandle } from './pipeline/index.js';
import { manifestProblems, parseManifests, readManifestDir, type ManifestResult } from './sources/manifests/index.js';
import { describeNode } from './translate/proxy.js';
import { renderTranslation } from './translate/render.js';
import { translate } from './translate/translate.js';

/** Reads a manifests directory once and builds its model. */
async function loadOnce(dir: string, opts: ModelOptions): Promise<{ result: ManifestResult; problems: Diagnostic[]; model: ReturnType<typeof buildModel> }> {
  const result = parseManifests(await readManifestDir(dir));
  const model = buildModel(result.inputs, opts);
  return { result, model, problems: sortDiagnostics([...manifestProblems(result), ...model.diagnostics]) };
}

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  run(flags: Record<string, string>): Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: {
    summary: 'run the control plane: watch the manifests, serve xDS and the debug endpoint',
    usage: 'trellis serve (--manifests DIR | --kubeconfig FILE | --in-cluster) [flags]',
    flags: SERVE_FLAGS,
    async run(flags) {
      const config = loadConfig(serveConfigSchema, SERVE_FLAGS, flags, process.env);
      const logger = createLogger(config.logLevel);
      routeGrpcLogs(logger.child({ component: 'grpc' }));
      // A signal during the start (a cluster not reachable yet) gives the start up; after it, stops.
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort(new Error(`stopped by ${sig}`)));
      let handle: ServeHandle;
      try {
        handle = await runServe(config, logger, { signal: stop.signal });
      } catch (err) {
        if (!stop.signal.aborted) throw err;
        logger.info('stopped before the sources synced');
        return 0;
      }
      if (!stop.signal.aborted) await once(stop.signal, 'abort');
      logger.info('shutting down');
      await handle.stop();
      return 0;
    },
  },
  render: {
    summary: 'print the configuration one proxy would receive (review a GitOps change without a cluster)',
    usage: 'trellis render --manifests DIR --proxy POD.NAMESPACE [--mode sidecar|proxyless] [--region R] [--zone Z]',
    flags: RENDER_FLAGS,
    async run(flags) {
      const config = loadConfig(renderConfigSchema, RENDER_FLAGS, flags, {});
      const { model, problems } = await loadOnce(config.manifests, config);
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        for (const p of errors) console.error(formatDiagnostic(p));
        return 1;
      }
      const locality = config.region || config.zone ? { locality: { ...(config.region ? { region: config.region } : {}), ...(config.zone ? { zone: config.zone } : {}) } } : {};
      const proxy = describeNode({ id: config.proxy, cluster: '', metadata: { PROXY_MODE: config.mode }, userAgent: '', ...locality });
      const translation = translate(model, proxy);
      for (const e of translation.diagnostics) console.error(formatDiagnostic(e));
      process.stdout.write(renderTranslation(translation));
      return translation.diagnostics.some((e) => e.severity === 'error') ? 1 : 0;
    },
  },
  validate: {
    summary: 'check the manifests: every error and warning with file, document, object and field',
    usage: 'trellis validate --manifests DIR',
    flags: VALIDATE_FLAGS,
    async run(flags) {
      const config = loadConfig(validateConfigSchema, VALIDATE_FLAGS, flags, {});
      const { problems, model } = await loadOnce(config.manifests, config);
      for (const p of problems) console.log(formatDiagnostic(p));
      for (const line of policyStatuses(model.policies).flatMap(formatPolicyStatus)) console.log(line);
      const errors = problems.filter((p) => p.severity === 'error').length;
      console.log(`${errors} error(s), ${problems.length - errors} warning(s)`);
      return errors > 0 ? 1 : 0;
    },
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
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: trellis <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'trellis <command> --help' for a command's flags.`;
}

function commandUsage(c: Command): string {
  const lines = Object.values(c.flags).map((f) => `  --${f.flag.padEnd(16)} ${f.help}${f.env ? ` (env ${f.env})` : ''}`);
  return `Usage: ${c.usage}\n\nFlags:\n${lines.join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`trellis: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const options = Object.fromEntries(Object.values(command.flags).map((f) => [f.flag, { type: f.boolean ? ('boolean' as const) : ('string' as const) }]));
    const { values } = parseArgs({ args: rest, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false });
    if (values.help) {
      console.log(commandUsage(command));
      return 0;
    }
    const flags: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (k !== 'help' && v !== undefined) flags[k] = String(v);
    return await command.run(flags);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    console.error(`trellis ${name}: ${(err as Error).message}`);
    return err instanceof ConfigError || code.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
