/**
 * `npm run demo`: the mesh at work, without a cluster. Trellis serves a copy of examples/mesh whose
 * gRPC endpoints are moved to 127.0.x.y (mesh.ts), where the demo's applications listen
 * (servers.ts); two proxyless gRPC clients (client.ts, grpc-js-xds) call them while the demo edits
 * TrafficPolicy files live (steps.ts), and every step prints what it measured with ✓ or ✗.
 *
 *   npm run demo                 ends by itself; exit 1 if any claim failed
 *   npm run demo -- --keep       then leaves Trellis and the applications running until Ctrl-C
 *   npm run demo -- --verbose    Trellis's own log lines on stderr
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { renderBootstrap } from '../../src/bootstrap/render.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { runServe, type ServeHandle } from '../../src/pipeline/index.ts';
import { killChildren, startChild, type Child } from './children.ts';
import { writeDemoMesh } from './mesh.ts';
import { canary, faults, nack, ready, retries, type Demo } from './steps.ts';
import type { Claim } from './traffic.ts';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = 'usage: npm run demo [-- --keep] [--verbose]';

interface Options {
  readonly keep: boolean;
  readonly verbose: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const known = new Set(['--keep', '--verbose', '--help']);
  const unknown = argv.filter((a) => !known.has(a));
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (unknown.length > 0) {
    process.stderr.write(`demo: unknown argument ${unknown.join(' ')}; ${USAGE}\n`);
    process.exit(2);
  }
  return { keep: argv.includes('--keep'), verbose: argv.includes('--verbose') };
}

const say = (text: string): void => void process.stdout.write(`${text}\n`);

function report(claims: readonly Claim[]): boolean {
  for (const c of claims) say(`  ${c.ok ? '✓' : '✗'} ${c.text}`);
  return claims.every((c) => c.ok);
}

/** A proxyless client process with the bootstrap `trellis bootstrap --mode proxyless` prints. */
function startClient(pod: string, ip: string, xdsPort: number, env: Readonly<Record<string, string>> = {}): Promise<Child> {
  const bootstrap = renderBootstrap({
    mode: 'proxyless',
    xdsAddress: { host: '127.0.0.1', port: xdsPort },
    namespace: 'shop',
    pod,
    ip,
    serviceAccount: 'storefront',
  });
  return startChild(`${pod}.shop`, join(here, 'client.ts'), { GRPC_XDS_BOOTSTRAP_CONFIG: bootstrap.text, DEMO_CLIENT: pod, ...env });
}

async function runSteps(demo: Demo): Promise<boolean> {
  let ok = true;
  const step = async (claims: Claim[] | Promise<Claim[]>): Promise<void> => {
    ok = report(await claims) && ok;
  };
  await step([await ready(demo)]);
  await step(canary(demo, 90, 10));
  await step(canary(demo, 50, 50));
  await step(canary(demo, 0, 100));
  await step(retries(demo));
  await step(faults(demo));
  await step(nack(demo));
  say(
    '\n▸ mutual TLS: not shown. Workload certificates come from cert-manager, in cluster mode (serve --issuer); without a cluster the demo cannot turn mTLS on honestly (README: Security).',
  );
  return ok;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const tmp = await mkdtemp(join(tmpdir(), 'trellis-demo-'));
  let trellis: ServeHandle | undefined;
  // Once, whoever asks first: the end of the run, a failure, or Ctrl-C in the middle of a step.
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      killChildren();
      await trellis?.stop();
      await rm(tmp, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const started = Date.now();
    const meshDir = join(tmp, 'mesh');
    const apps = await writeDemoMesh(resolve(here, '../mesh'), meshDir);
    const servers = startChild('servers', join(here, 'servers.ts'), { DEMO_APPS: JSON.stringify(apps) });
    const logger = pino({ level: opts.verbose ? 'info' : 'silent' }, pino.destination(2));
    const config = loadServeConfig({ manifests: meshDir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0' }, {});
    trellis = await runServe(config, logger);
    const { xdsPort, debugPort } = trellis.running;
    const debug = `http://127.0.0.1:${debugPort}`;
    say(`Trellis serving ${meshDir} (a copy of examples/mesh): xDS 127.0.0.1:${xdsPort}, debug ${debug}/debug/ui`);
    for (const a of apps) say(`  ${a.namespace}/${a.pod} (${a.service} ${a.version}${a.ready ? '' : ', terminating'}) on ${a.ip}:${a.port}`);
    const [client, legacy] = await Promise.all([
      startClient('storefront-0', '127.0.9.1', xdsPort),
      startClient('storefront-legacy', '127.0.9.2', xdsPort, { GRPC_XDS_EXPERIMENTAL_ENABLE_RING_HASH: 'false' }),
      servers,
    ]);
    const ok = await runSteps({ meshDir, debug, client, clientId: client.name, legacy, legacyId: legacy.name, say });
    say(`\n${ok ? 'every claim held' : 'SOME CLAIMS FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (opts.keep) {
      say(
        `\n--keep: Trellis and the applications stay up until Ctrl-C.\n  ${debug}/debug/ui\n  curl '${debug}/debug/syncz?format=text'\n  curl '${debug}/debug/policies?format=text'\n  policies: ${meshDir}`,
      );
      await new Promise<never>(() => undefined);
    }
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killChildren();
    process.exit(1);
  },
);
