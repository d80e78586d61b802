/**
 * One measured Trellis start, in a fresh process (forked by kube-scale.ts with --expose-gc): `serve`
 * from src/pipeline, with the source the CLI would build (a kubeconfig, or a manifests directory) and
 * the xDS and debug servers on 127.0.0.1:0. Reports the time from calling serve to ready (source
 * synced, model built, first snapshot complete, servers listening), the memory after full GCs
 * against the same process's memory before the start, and then, outside those figures, the time of
 * a warm model build and of translating one sidecar class, a second one (another pod: the shared
 * parts memoised) and one proxyless class, as the first proxy of each class would.
 */
import { writeHeapSnapshot } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { serve } from '../../src/pipeline/index.ts';
import { loadConfig, SERVE_FLAGS, serveConfigSchema } from '../../src/config/config.ts';
import { buildModel } from '../../src/model/build.ts';
import { loadKubeConfig, startKubeSource } from '../../src/sources/kube/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import type { Source, StartSource } from '../../src/sources/source.ts';
import { parseProxyClass } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import { startProfile, stopProfile } from './profile.ts';
import { formatDiagnostic } from '../../src/diagnostics.ts';
import { SotwClient } from '../support/ads-client.ts';
import { CDS } from './config.ts';

export type SourceKind = 'kube' | 'manifests';

export interface ChildTask {
  readonly source: SourceKind;
  /** A kubeconfig file (kube) or the manifests directory. */
  readonly path: string;
  readonly logLevel: string;
  /** A proxy of each mode to translate for once ready. */
  readonly sidecarClass: string;
  /** Another pod's sidecar on the same model: what each further class costs once the shared parts are memoised. */
  readonly nextSidecarClass: string;
  readonly proxylessClass: string;
  /** Write a CPU profile of the start (serve called → ready) here. */
  readonly profilePath?: string;
  /** Write a CPU profile of what follows ready (warm model build, the two classes) here. */
  readonly afterProfilePath?: string;
  /** Write a heap snapshot once ready here. */
  readonly heapSnapshotPath?: string;
}

export interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface ChildResult {
  readonly ev: 'result';
  readonly source: SourceKind;
  /** serve() called → source resolved its start (synced once). */
  readonly syncedMs: number;
  /** serve() called → serve resolved with cache.ready (model built, first snapshot, servers listening). */
  readonly readyMs: number;
  readonly cacheReady: boolean;
  /** Process CPU (user + system) from serve() called to ready. */
  readonly cpuSeconds: number;
  /** Before serve() (modules loaded), and once ready; both after full GCs. */
  readonly before: Memory;
  readonly ready: Memory;
  /** The process's peak RSS until ready (getrusage maxrss). */
  readonly peakRss: number;
  readonly counts: { readonly namespaces: number; readonly services: number; readonly endpointSlices: number; readonly pods: number };
  readonly problems: { readonly errors: number; readonly warnings: number; readonly first: readonly string[] };
  readonly model: { readonly services: number; readonly workloads: number; readonly endpoints: number };
  /** The first sidecar of each of two pods over ADS on the served model: request sent → CDS response (ms), and its clusters. */
  readonly firstOverAds: readonly { readonly ms: number; readonly clusters: number }[];
  /** A second buildModel on the same inputs, after ready (warm). */
  readonly warmModelMs: number;
  /** translate() + cache.set() for one class of each mode, as the first proxy of that class triggers. */
  readonly sidecar: { readonly ms: number; readonly resources: number; readonly errors: number };
  readonly nextSidecar: { readonly ms: number; readonly resources: number; readonly errors: number };
  readonly proxyless: { readonly ms: number; readonly resources: number; readonly errors: number };
}

export type ChildEvent = ChildResult | { readonly ev: 'error'; readonly message: string };

/** Sends an IPC message and resolves once it is written (the process exits right after). */
function send(msg: ChildEvent): Promise<void> {
  if (!process.send || !process.connected) process.exit(3);
  const sendOne = process.send.bind(process);
  return new Promise((resolve) => sendOne(msg, undefined, {}, () => resolve()));
}

const gc = (globalThis as { gc?: () => void }).gc;

async function memory(): Promise<Memory> {
  if (!gc) throw new Error('run with --expose-gc');
  // Let timers and finalizers settle, then collect repeatedly (weak maps, then what they held).
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

function timed<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const out = fn();
  return [out, performance.now() - t];
}

/** Each class (`sidecar/<namespace>/<pod>`) as its Envoy asks: a stream with its node, CDS, time to the response. */
async function firstSidecarsOverAds(xdsPort: number, classes: readonly string[]): Promise<{ ms: number; clusters: number }[]> {
  const out: { ms: number; clusters: number }[] = [];
  for (const cls of classes) {
    const [, namespace = '', pod = ''] = cls.split('/');
    const node = { id: `${pod}.${namespace}`, cluster: `bench.${namespace}`, metadata: { PROXY_MODE: 'sidecar', NAMESPACE: namespace, POD_NAME: pod } };
    const client = await SotwClient.connect(`127.0.0.1:${xdsPort}`, { node });
    try {
      const t0 = performance.now();
      client.subscribe(CDS);
      const cds = await client.next(CDS, 120_000);
      out.push({ ms: performance.now() - t0, clusters: cds.resources.length });
    } finally {
      client.close();
    }
  }
  return out;
}

async function main(task: ChildTask): Promise<ChildResult> {
  const logger = pino({ level: task.logLevel, base: { app: 'trellis', bench: task.source } }, pino.destination({ fd: 2, sync: true }));
  const flags: Record<string, string> = {
    [task.source === 'kube' ? 'kubeconfig' : 'manifests']: task.path,
    'xds-address': '127.0.0.1:0',
    'debug-address': '127.0.0.1:0',
    'log-level': task.logLevel,
  };
  const config = loadConfig(serveConfigSchema, SERVE_FLAGS, flags, {});
  // As src/pipeline/serve.ts's runServe builds it.
  const inner: StartSource =
    task.source === 'kube'
      ? startKubeSource({ kubeConfig: loadKubeConfig({ kubeconfig: task.path }), logger: logger.child({ component: 'kube' }) })
      : startManifestSource(task.path, logger.child({ component: 'manifests' }));
  let source: Source | undefined;
  let syncedAt = 0;
  const startSource: StartSource = async (onChange) => {
    const s = await inner(onChange);
    syncedAt = performance.now();
    source = s;
    return s;
  };

  const before = await memory();
  if (task.profilePath) await startProfile();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const running = await serve(config, logger, startSource);
  const readyAt = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const cacheReady = running.cache.ready;
  if (task.profilePath) await stopProfile(task.profilePath);
  if (!source) throw new Error('serve resolved without starting the source');
  const ready = await memory();
  if (task.heapSnapshotPath) writeHeapSnapshot(task.heapSnapshotPath);

  // Outside the figures above: the first sidecars of two pods as Envoy asks, over ADS on the served
  // model (request → CDS response: the class translated and encoded, the response written and read);
  // then a warm model build and one class of each mode.
  const firstOverAds = await firstSidecarsOverAds(running.xdsPort, [task.sidecarClass, task.nextSidecarClass]);
  if (task.afterProfilePath) await startProfile();
  const state = source.current();
  const [model, warmModelMs] = timed(() => buildModel(state.inputs, { domain: config.domain, trustDomain: config.trustDomain }));
  const problems = [...state.problems, ...model.diagnostics];
  const translateClass = (cls: string): { ms: number; resources: number; errors: number } => {
    const proxy = parseProxyClass(cls);
    if (!proxy) throw new Error(`not a proxy class: ${cls}`);
    const [t, ms] = timed(() => {
      const translation = translate(model, proxy);
      running.cache.set(cls, translation.resources);
      return translation;
    });
    const resources = Object.values(t.resources).reduce((n, list) => n + list.length, 0);
    return { ms, resources, errors: t.diagnostics.filter((d) => d.severity === 'error').length };
  };
  const sidecar = translateClass(task.sidecarClass);
  const nextSidecar = translateClass(task.nextSidecarClass);
  const proxyless = translateClass(task.proxylessClass);
  if (task.afterProfilePath) await stopProfile(task.afterProfilePath);
  await running.close();
  return {
    ev: 'result',
    source: task.source,
    syncedMs: syncedAt - t0,
    readyMs: readyAt - t0,
    cacheReady,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    before,
    ready,
    peakRss,
    counts: {
      namespaces: state.inputs.namespaces.length,
      services: state.inputs.services.length,
      endpointSlices: state.inputs.endpointSlices.length,
      pods: state.inputs.pods.length,
    },
    problems: {
      errors: problems.filter((p) => p.severity === 'error').length,
      warnings: problems.filter((p) => p.severity === 'warning').length,
      first: problems.slice(0, 5).map(formatDiagnostic),
    },
    model: {
      services: model.services.length,
      workloads: model.workloads.length,
      endpoints: model.services.reduce((n, s) => n + s.ports.reduce((m, p) => m + p.endpoints.length, 0), 0),
    },
    warmModelMs,
    firstOverAds,
    sidecar,
    nextSidecar,
    proxyless,
  };
}

if (!process.send) throw new Error('kube-child.ts is started by kube-scale.ts (no IPC channel)');
process.on('disconnect', () => process.exit(4));
const raw = process.env.TRELLIS_KUBE_BENCH_TASK;
if (!raw) throw new Error('TRELLIS_KUBE_BENCH_TASK is not set');
main(JSON.parse(raw) as ChildTask)
  .then(async (result) => {
    await send(result);
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    await send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  });
