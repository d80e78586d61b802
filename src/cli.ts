#!/usr/bin/env node
/**
 * The composition root: parses the command line, wires the stages and starts the servers.
 * No logic of its own lives here.
 */
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  BOOTSTRAP_FLAGS,
  bootstrapConfigSchema,
  CAPTURE_FLAGS,
  captureConfigSchema,
  ConfigError,
  INJECT_FLAGS,
  injectConfigSchema,
  loadConfig,
  loadValidateConfig,
  RENDER_FLAGS,
  renderConfigSchema,
  SERVE_FLAGS,
  serveConfigSchema,
  VALIDATE_FLAGS,
  type FlagSpec,
} from './config/config.js';
import {
  loadPolicyStatusConfig,
  loadProxyConfigConfig,
  loadProxyStatusConfig,
  POLICY_STATUS_FLAGS,
  PROXY_CONFIG_FLAGS,
  PROXY_STATUS_FLAGS,
} from './config/debug-client.js';
import { renderBootstrap } from './bootstrap/render.js';
import { runCapture } from './capture/run.js';
import { runInject } from './cli/inject.js';
import { runRender, runValidate, type CommandIO } from './cli/offline.js';
import { runPolicyStatus } from './cli/policy-status.js';
import { runProxyConfig } from './cli/proxy-config.js';
import { runProxyStatus } from './cli/proxy-status.js';
import { withTrellis } from './cli/target.js';
import { versionLine } from './cli/version.js';
import { createLogger, routeGrpcLogs, runServe, type ServeHandle } from './pipeline/index.js';

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

/** The exit code of an unexpected error (EX_SOFTWARE). */
export const UNEXPECTED_ERROR_EXIT = 70;

/**
 * An error nothing handled (a throw in a callback, a rejection nobody awaited) is logged, one line with
 * its stack, and ends the process non-zero: failing loudly, the orchestrator restarts it, rather than
 * serving on in a state nobody knows. Failures of one rebuild are handled where they happen (the last
 * good configuration keeps serving); this is for everything else. Installed by `trellis serve` only.
 */
function exitOnUnexpectedErrors(logger: ReturnType<typeof createLogger>): void {
  const fail = (err: unknown, origin: string): void => {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err, origin }, `unexpected error (${origin}), exiting: ${message}`);
    process.exit(UNEXPECTED_ERROR_EXIT);
  };
  process.on('uncaughtException', (err, origin) => fail(err, origin));
  process.on('unhandledRejection', (reason) => fail(reason, 'unhandledRejection'));
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
      exitOnUnexpectedErrors(logger);
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
  inject: {
    summary: "print the objects of a YAML file with Trellis's sidecar injected into their pods (review injection in a GitOps change)",
    usage: 'trellis inject -f FILE|- [--native-sidecar true|false] [--image IMAGE] [--trellis-image IMAGE] [--xds-address HOST:PORT] [--secure]',
    flags: INJECT_FLAGS,
    run: (flags) => runInject(loadConfig(injectConfigSchema, INJECT_FLAGS, flags, {}), PROCESS_IO),
  },
  capture: {
    summary: "redirect the Pod's TCP traffic to its Envoy sidecar (iptables nat table; the injected init container runs it)",
    usage: 'trellis capture [--exclude-inbound-ports P,P] [--exclude-outbound-ports P,P] [--exclude-outbound-cidrs CIDR,CIDR] [--proxy-uid UID] [--dry-run]',
    flags: CAPTURE_FLAGS,
    run: (flags) => runCapture(loadConfig(captureConfigSchema, CAPTURE_FLAGS, flags, {}), PROCESS_IO),
  },
  'proxy-status': {
    summary: "each connected proxy's sync state per type, from Trellis's client status service (CSDS); exit 1 if one is not SYNCED",
    usage: 'trellis proxy-status [PROXY] [--xds-address HOST:PORT | --kubeconfig FILE [--context C] [-n NS]] [-o table|json|yaml]',
    positionals: 'PROXY: one node id (<pod>.<namespace>): its row, then per type its resources by status and its NACK',
    flags: PROXY_STATUS_FLAGS,
    run(flags, positionals) {
      const config = loadProxyStatusConfig(flags, positionals);
      const proxy = config.proxy === undefined ? {} : { proxy: config.proxy };
      return withTrellis(config.target, { xds: true }, ({ xds }) => runProxyStatus({ xds, output: config.output, ...proxy }, PROCESS_IO));
    },
  },
  'proxy-config': {
    summary: 'what one proxy has acked of one type, from the debug endpoint (/debug/resources); keys never shown',
    usage:
      'trellis proxy-config clusters|listeners|routes|endpoints|secrets PROXY [--debug-address HOST:PORT | --kubeconfig FILE [--context C] [-n NS]] [-o table|json|yaml]',
    positionals: 'TYPE: clusters, listeners, routes, endpoints or secrets; PROXY: the node id (<pod>.<namespace>)',
    flags: PROXY_CONFIG_FLAGS,
    run(flags, positionals) {
      const config = loadProxyConfigConfig(flags, positionals);
      return withTrellis(config.target, { xds: false }, ({ debug }) =>
        runProxyConfig({ debug, type: config.type, proxy: config.proxy, output: config.output }, PROCESS_IO),
      );
    },
  },
  'policy-status': {
    summary: "each TrafficPolicy's conditions, from the debug endpoint (/debug/policies); exit 1 if one is not Programmed",
    usage: 'trellis policy-status [NAMESPACE/NAME] [--debug-address HOST:PORT | --kubeconfig FILE [--context C] [-n NS]] [-o table|json|yaml]',
    positionals: 'NAMESPACE/NAME: one TrafficPolicy: what it attaches to and each condition',
    flags: POLICY_STATUS_FLAGS,
    run(flags, positionals) {
      const config = loadPolicyStatusConfig(flags, positionals);
      const policy = config.policy === undefined ? {} : { policy: config.policy };
      return withTrellis(config.target, { xds: false }, ({ debug }) => runPolicyStatus({ debug, output: config.output, ...policy }, PROCESS_IO));
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
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`);
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
      Object.values(command.flags).map((f) => [
        f.flag,
        { type: f.boolean ? ('boolean' as const) : ('string' as const), ...(f.short ? { short: f.short } : {}) },
      ]),
    );
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: command.positionals !== undefined,
    });
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

/** The script node was asked to run, symlinks resolved (npm's bin link, /usr/local/bin/trellis): is it this file? */
function isMain(script: string | undefined): boolean {
  if (!script) return false;
  let real = script;
  try {
    real = realpathSync(script);
  } catch {
    // not a file (node resolved it some other way): compare it as given
  }
  return import.meta.url === pathToFileURL(real).href;
}

if (isMain(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
