/**
 * `npm run bench:kube`: Trellis at cluster scale, from a real API server and from a manifests
 * directory holding the same objects. Time to ready and memory, each source in a fresh process.
 *
 *   npm run bench:kube -- --services 2000 --pods-per-service 5 --namespaces 20
 *
 * 1. Starts an envtest API server (test/support/envtest.ts; KUBEBUILDER_ASSETS or ../shared/envtest)
 *    with its watch cache on, as in a real cluster, and the TrafficPolicy CRD installed. Creates, as
 *    admin, S Services (fixed ClusterIPs), their EndpointSlices and S×P Pods (status with a distinct
 *    10.x IP through the status subresource) across the namespaces, `--concurrency` requests in flight.
 *    How long that took is reported; it is not part of Trellis's figures.
 * 2. Writes the same objects as a manifests directory: one file per Service (Service, slice, Pods)
 *    in a directory per namespace, and the Namespaces.
 * 3. For each source, in a fresh process (kube-child.ts): `serve` from src/pipeline, reading the API
 *    server as a ServiceAccount bound to exactly KUBE_RBAC_RULES, or the directory; time from calling
 *    serve to ready; memory after full GCs, raw and against the same process before the start.
 *
 * Options:
 *   --services S (2000)  --pods-per-service P (5)  --namespaces N (20)
 *   --concurrency C      requests in flight while creating (32)
 *   --timeout SECONDS    global limit; children and the API server are killed, exit 2 (1800)
 *   --watch-cache true|false   the API server's watch cache (true, as in a cluster)
 *   --malloc tuned|default     Trellis processes with MALLOC_MMAP_THRESHOLD_=131072 (the README's setting) or glibc's defaults
 *   --profile            CPU-profile each Trellis start (serve called → ready), and separately what follows
 *                        (warm model build, the two classes), and print where it goes
 *   --heap-snapshot      write a heap snapshot of each Trellis process once ready (tmpdir)
 *   --log-level LEVEL    Trellis's log level (warn), on stderr
 *   --sources kube,manifests   which sources to start Trellis on (both)
 *   --reachable K        every Pod of service i annotated `trellis.dev/reachable-services` with services i+1 … i+K
 *                        (mod S) and service 0, which every pod calls, as `namespace/name` (in the API server and the
 *                        manifests); the endpoint changes then patch service 0's slice. 0 to S-1; absent: no annotation
 *
 * Proxies (issue 14; API server only, after the kube source's run; kube-proxies.ts says how):
 *   --proxies N (0)      N Envoy-like sidecar streams (kube-fleet.ts), each a distinct Pod of the mesh, against
 *                        `trellis serve --kubeconfig`: time to ready, time until all are SYNCED, RSS; 0: none
 *   --changes M (5)      endpoint changes measured across all N proxies once they are SYNCED: the last Service's
 *                        EndpointSlice patched, or with --reachable service 0's
 *   --streams-per-connection K (1)  sidecar streams sharing one HTTP/2 connection (1: each its own, as Envoys)
 *   --change-gap MS (1000)  quiet time before each change
 *   --sync-timeout SECONDS (600), --change-timeout SECONDS (120)   how long the streams may take; the figures
 *                        then say how many made it
 *   --rss-limit MiB (6144)   Trellis or the proxies' process above this RSS stops the bench (exit 1)
 *
 *   npm run bench:kube -- --services 5000 --pods-per-service 10 --namespaces 50 --proxies 2000 --changes 3 --sources kube
 * Exits 1 on error, 2 on timeout.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TRAFFIC_POLICY_CRD, trellisKubeconfigYaml } from '../sources/kube-support.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import type { ChildEvent, ChildResult, ChildTask, Memory, SourceKind } from './kube-child.ts';
import { createObjects, type CreateReport } from './kube-create.ts';
import { groupYaml, namespacesYaml, serviceGroup, validateParams, type ScaleParams } from './kube-objects.ts';
import { summarizeProfile } from './profile.ts';
import { killAll } from './children.ts';
import { killTrellis, runProxies, type ProxiesResult } from './kube-proxies.ts';
import { proxiesJson, proxiesReport, reachableText } from './kube-proxies-report.ts';

// ---- options ----

const { values: argv } = parseArgs({
  options: {
    services: { type: 'string' },
    'pods-per-service': { type: 'string' },
    namespaces: { type: 'string' },
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    'watch-cache': { type: 'string' },
    malloc: { type: 'string' },
    profile: { type: 'boolean' },
    'heap-snapshot': { type: 'boolean' },
    'log-level': { type: 'string' },
    sources: { type: 'string' },
    reachable: { type: 'string' },
    proxies: { type: 'string' },
    changes: { type: 'string' },
    'streams-per-connection': { type: 'string' },
    'change-gap': { type: 'string' },
    'sync-timeout': { type: 'string' },
    'change-timeout': { type: 'string' },
    'rss-limit': { type: 'string' },
  },
  strict: true,
});

type NumberOption =
  | 'services'
  | 'pods-per-service'
  | 'namespaces'
  | 'concurrency'
  | 'timeout'
  | 'proxies'
  | 'changes'
  | 'reachable'
  | 'streams-per-connection'
  | 'change-gap'
  | 'sync-timeout'
  | 'change-timeout'
  | 'rss-limit';

/** `--name` as an integer of at least `min` (1 unless told), `dflt` when absent. */
function num(name: NumberOption, dflt: number, min = 1): number {
  const raw = argv[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, not ${raw}`);
  return n;
}

const reachable = argv.reachable === undefined ? undefined : num('reachable', 0, 0);
const params: ScaleParams = {
  services: num('services', 2000),
  podsPerService: num('pods-per-service', 5),
  namespaces: num('namespaces', 20),
  ...(reachable === undefined ? {} : { reachable }),
};
validateParams(params);
const concurrency = num('concurrency', 32);
const timeoutSeconds = num('timeout', 1800);
const watchCacheArg = argv['watch-cache'] ?? 'true';
if (!['true', 'false'].includes(watchCacheArg)) throw new Error('--watch-cache must be true or false');
const watchCache = watchCacheArg === 'true';
const mallocArg = argv.malloc ?? 'tuned';
if (!['tuned', 'default'].includes(mallocArg)) throw new Error('--malloc must be tuned or default');
const childEnv: Record<string, string> = mallocArg === 'tuned' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {};
const profile = argv.profile ?? false;
const heapSnapshot = argv['heap-snapshot'] ?? false;
const logLevel = argv['log-level'] ?? 'warn';
const sources = (argv.sources ?? 'kube,manifests').split(',').map((x) => x.trim());
if (sources.length === 0 || sources.some((x) => x !== 'kube' && x !== 'manifests')) throw new Error('--sources must list kube and/or manifests');
const proxyOptions = {
  proxies: num('proxies', 0, 0),
  changes: num('changes', 5, 0),
  streamsPerConnection: num('streams-per-connection', 1),
  changeGapMs: num('change-gap', 1000, 0),
  syncTimeoutMs: num('sync-timeout', 600) * 1000,
  changeTimeoutMs: num('change-timeout', 120) * 1000,
  logLevel,
  rssLimit: num('rss-limit', 6144) * 2 ** 20,
  env: childEnv,
};
if (proxyOptions.proxies > 0 && !sources.includes('kube')) throw new Error('--proxies needs the kube source');
if (proxyOptions.proxies > params.services * params.podsPerService) throw new Error('--proxies must be at most services × pods-per-service');

// ---- processes and cleanup ----

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = import.meta.resolve('tsx');
const children = new Set<ChildProcess>();
let workDir: string | undefined;

/** Synchronous, for 'exit': the envtest module kills the API server and etcd in its own 'exit' hook. */
function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  killTrellis();
  killAll();
  if (workDir) rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
  workDir = undefined;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
const globalTimer = setTimeout(() => {
  process.stderr.write(`kube-bench: global timeout of ${timeoutSeconds} s reached; killing the children and the API server\n`);
  process.exit(2);
}, timeoutSeconds * 1000);

function log(msg: string): void {
  process.stderr.write(`kube-bench: ${msg}\n`);
}

function fail(msg: string): never {
  throw new Error(msg);
}

/** Runs one measured start in a fresh process; resolves with its result, rejects on its error or exit. */
function measure(task: ChildTask): Promise<ChildResult> {
  const child = fork(join(here, 'kube-child.ts'), [], {
    execArgv: ['--import', tsx, '--expose-gc'],
    env: { ...process.env, ...childEnv, TRELLIS_KUBE_BENCH_TASK: JSON.stringify(task) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (m: unknown) => {
      const e = m as ChildEvent;
      settled = true;
      if (e.ev === 'result') resolve(e);
      else reject(new Error(`${task.source} child: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!settled) reject(new Error(`${task.source} child exited (code ${String(code)}, signal ${String(signal)}) without a result`));
    });
  });
}

// ---- the manifests directory ----

async function writeManifests(dir: string): Promise<{ files: number; bytes: number }> {
  for (let n = 0; n < params.namespaces; n++) mkdirSync(join(dir, serviceGroup(n, params).namespace), { recursive: true });
  let bytes = 0;
  const nsText = namespacesYaml(params);
  await writeFile(join(dir, 'namespaces.yaml'), nsText);
  bytes += nsText.length;
  for (let i = 0; i < params.services; i++) {
    const g = serviceGroup(i, params);
    const text = groupYaml(g);
    bytes += text.length;
    await writeFile(join(dir, g.namespace, `${g.name}.yaml`), text);
  }
  return { files: params.services + 1, bytes };
}

// ---- report ----

const MiB = 1024 * 1024;
const mb = (b: number): string => (b / MiB).toFixed(1);
const sec = (ms: number): string => (ms / 1000).toFixed(2);
const objects = (r: ChildResult): number => r.counts.namespaces + r.counts.services + r.counts.endpointSlices + r.counts.pods;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

function memoryJson(m: Memory): Record<string, number> {
  return { rssMB: +mb(m.rss), heapUsedMB: +mb(m.heapUsed), heapTotalMB: +mb(m.heapTotal), externalMB: +mb(m.external), arrayBuffersMB: +mb(m.arrayBuffers) };
}

function profileSummary(title: string, path: string, files: number, total: number, self: number): string {
  const s = summarizeProfile(path, Math.max(total, self));
  const line = (l: { selfPct: number; totalPct: number; what: string }): string =>
    `    ${l.selfPct.toFixed(1).padStart(5)}% ${l.totalPct.toFixed(1).padStart(5)}%  ${l.what}`;
  return [
    `\n${title} (${path}), ${(s.busyMs / 1000).toFixed(2)} s busy`,
    '  by file (self% / inclusive%):',
    ...s.files.slice(0, files).map(line),
    '  by function, inclusive:',
    ...s.byTotal.slice(0, total).map(line),
    '  by function, self:',
    ...s.bySelf.slice(0, self).map(line),
  ].join('\n');
}

function report(
  results: readonly ChildResult[],
  create: CreateReport,
  manifests: { files: number; bytes: number },
  profiles: ReadonlyMap<SourceKind, string>,
  afterProfiles: ReadonlyMap<SourceKind, string>,
): void {
  console.log(
    table(
      ['source', 'objects', 'synced (s)', 'time to ready (s)', 'CPU to ready (s)', 'RSS (MiB)', 'heap used (MiB)', 'RSS delta', 'heap delta', 'peak RSS'],
      results.map((r) => [
        r.source,
        String(objects(r)),
        sec(r.syncedMs),
        sec(r.readyMs),
        r.cpuSeconds.toFixed(2),
        mb(r.ready.rss),
        mb(r.ready.heapUsed),
        mb(r.ready.rss - r.before.rss),
        mb(r.ready.heapUsed - r.before.heapUsed),
        mb(r.peakRss),
      ]),
    ),
  );
  console.log('\nWhat each source read, and the model (after ready; not part of the figures above)');
  console.log(
    table(
      [
        'source',
        'namespaces',
        'services',
        'slices',
        'pods',
        'problems (E/W)',
        'model svc / workloads / endpoints',
        'warm buildModel (ms)',
        'first sidecars over ADS: CDS (ms)',
        'sidecar class (ms, resources)',
        'next sidecar (ms)',
        'proxyless class (ms, resources)',
      ],
      results.map((r) => [
        r.source,
        String(r.counts.namespaces),
        String(r.counts.services),
        String(r.counts.endpointSlices),
        String(r.counts.pods),
        `${r.problems.errors}/${r.problems.warnings}`,
        `${r.model.services} / ${r.model.workloads} / ${r.model.endpoints}`,
        r.warmModelMs.toFixed(0),
        r.firstOverAds.map((f) => `${f.ms.toFixed(0)} (${f.clusters})`).join(', '),
        `${r.sidecar.ms.toFixed(0)}, ${r.sidecar.resources}${r.sidecar.errors ? ` (${r.sidecar.errors} errors)` : ''}`,
        r.nextSidecar.ms.toFixed(0),
        `${r.proxyless.ms.toFixed(0)}, ${r.proxyless.resources}${r.proxyless.errors ? ` (${r.proxyless.errors} errors)` : ''}`,
      ]),
    ),
  );
  for (const r of results)
    if (r.problems.first.length > 0) console.log(`  ${r.source} problems, first ${r.problems.first.length}:\n    ${r.problems.first.join('\n    ')}`);
  console.log(
    [
      '',
      'Notes',
      `- time to ready: from calling serve() (modules already loaded) until it resolved with cache.ready = ${results.map((r) => r.cacheReady).join('/')}: the source synced once, the model built, the first snapshot complete, xDS and debug listening. "synced" is the source alone.`,
      '- memory after three full GCs; deltas against the same process after loading its modules, before serve(). peak RSS: getrusage maxrss up to ready (parsing transients included).',
      `- kube: ${watchCache ? 'the API server with its watch cache' : 'the API server without its watch cache (lists read etcd)'}, on the same machine (it shares the cores with Trellis while Trellis lists); Trellis reads it as a ServiceAccount bound to KUBE_RBAC_RULES, cluster-wide (the extra namespaces and the \`kubernetes\` Service and slice are the API server's own).`,
      `- manifests: ${manifests.files} files, ${mb(manifests.bytes)} MiB of YAML. Objects as sent to the API server, JSON: Service ${create.bytes.service} B, EndpointSlice ${create.bytes.slice} B, Pod with status ${create.bytes.pod} B (the API server adds metadata and managedFields).`,
      `- Trellis processes' malloc: ${mallocArg === 'tuned' ? "MALLOC_MMAP_THRESHOLD_=131072 (the README's setting)" : "glibc's defaults"}.`,
      "- first sidecars over ADS: the sidecars of two pods, one after the other, as Envoy asks on the served model: a stream with the pod's node, CDS requested → the response received (the class translated and encoded, the response written and decoded by the client), with its clusters. What every sidecar shares is encoded with each model, before any asks.",
      "- sidecar / proxyless class: translate() and cache.set() of one class on a freshly built model (no previous: nothing of the served model's is shared by identity); next sidecar: another pod's sidecar class right after (the shared outbound parts memoised per model). A model change translates again the classes in use, each costing what changed for it.",
    ].join('\n'),
  );
  for (const [source, path] of profiles) console.log(profileSummary(`CPU profile of the ${source} start, serve() → ready`, path, 12, 20, 15));
  for (const [source, path] of afterProfiles) {
    console.log(profileSummary(`CPU profile after the ${source} start: warm buildModel, two sidecar classes, one proxyless class`, path, 10, 15, 10));
  }
}

// ---- main ----

async function main(): Promise<void> {
  const started = new Date();
  const cpu = cpus();
  const machine = {
    date: started.toISOString(),
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGB: +(totalmem() / 1024 ** 3).toFixed(1),
  };
  const total = params.services * (2 + params.podsPerService);
  console.log(
    `Trellis Kubernetes scale bench — ${machine.date}, Node ${machine.node}, ${machine.cpu} x ${machine.cores}, ${machine.memoryGB} GB\n` +
      `${params.services} Services, ${params.services} EndpointSlices, ${params.services * params.podsPerService} Pods (${params.podsPerService} per Service) in ${params.namespaces} namespaces\n` +
      `Pods: ${reachableText(params.reachable)}\n`,
  );
  workDir = await mkdtemp(join(tmpdir(), 'trellis-kube-bench-'));
  const manifestsDir = join(workDir, 'manifests');
  const manifests = sources.includes('manifests') ? await writeManifests(manifestsDir) : { files: 0, bytes: 0 };
  if (manifests.files > 0) log(`wrote ${manifests.files} manifest files (${mb(manifests.bytes)} MiB) to ${manifestsDir}`);

  log(`starting the API server (watch cache ${watchCache ? 'on' : 'off'})`);
  let env: Envtest | undefined = await startEnvtest({ watchCache });
  const results: ChildResult[] = [];
  const profiles = new Map<SourceKind, string>();
  const afterProfiles = new Map<SourceKind, string>();
  let create: CreateReport;
  let proxies: ProxiesResult | undefined;
  try {
    await env.installCrds([TRAFFIC_POLICY_CRD]);
    log(`creating ${total} objects, ${concurrency} requests in flight`);
    create = await createObjects(env, params, concurrency);
    log(`created ${total} objects in ${create.seconds.toFixed(1)} s (${create.requests} requests, ${create.retries} retried)`);
    const saNamespace = await env.namespace('trellis-system');
    const kubeconfigPath = join(workDir, 'kubeconfig.yaml');
    await writeFile(kubeconfigPath, await trellisKubeconfigYaml(env, saNamespace));

    const first = serviceGroup(0, params);
    const base = {
      logLevel,
      sidecarClass: `sidecar/${first.namespace}/${first.pods[0]?.name ?? ''}`,
      nextSidecarClass: `sidecar/${first.namespace}/${(first.pods[1] ?? first.pods[0])?.name ?? ''}`,
      proxylessClass: `proxyless/${first.namespace}`,
    };
    const artefact = (source: SourceKind, ext: string): string => join(tmpdir(), `trellis-kube-bench-${source}-${process.pid}.${ext}`);
    for (const source of (['kube', 'manifests'] as const).filter((x) => sources.includes(x))) {
      if (source === 'manifests' && env) {
        // The API server is not needed any more: it should not take CPU from the manifests run.
        await env.stop();
        env = undefined;
      }
      log(`${source}: starting Trellis in a fresh process`);
      const task: ChildTask = {
        ...base,
        source,
        path: source === 'kube' ? kubeconfigPath : manifestsDir,
        ...(profile ? { profilePath: artefact(source, 'cpuprofile'), afterProfilePath: artefact(source, 'after.cpuprofile') } : {}),
        ...(heapSnapshot ? { heapSnapshotPath: artefact(source, 'heapsnapshot') } : {}),
      };
      const r = await measure(task);
      results.push(r);
      if (task.profilePath) profiles.set(source, task.profilePath);
      if (task.afterProfilePath) afterProfiles.set(source, task.afterProfilePath);
      if (task.heapSnapshotPath) log(`${source}: heap snapshot written to ${task.heapSnapshotPath}`);
      log(`${source}: ready in ${sec(r.readyMs)} s, RSS ${mb(r.ready.rss)} MiB, heap ${mb(r.ready.heapUsed)} MiB`);
      if (source === 'kube' && proxyOptions.proxies > 0)
        proxies = await runProxies(env ?? fail('no API server'), kubeconfigPath, saNamespace, params, proxyOptions);
    }
  } finally {
    await env?.stop();
  }

  console.log(
    `Created in the API server in ${create.seconds.toFixed(1)} s (${(total / create.seconds).toFixed(0)} objects/s, ${create.requests} requests, ${create.retries} retried); not part of Trellis's figures.\n`,
  );
  report(results, create, manifests, profiles, afterProfiles);
  if (proxies) console.log(proxiesReport(proxies));
  const json = {
    ...(proxies ? { proxies: proxiesJson(proxies) } : {}),
    ...machine,
    params: {
      ...params,
      reachable: params.reachable ?? null,
      concurrency,
      watchCache,
      malloc: mallocArg,
      sources,
      proxies: proxyOptions.proxies,
      changes: proxyOptions.changes,
      streamsPerConnection: proxyOptions.streamsPerConnection,
    },
    create: { seconds: +create.seconds.toFixed(2), requests: create.requests, retries: create.retries, bytes: create.bytes },
    manifests,
    results: results.map((r) => ({
      source: r.source,
      objects: objects(r),
      counts: r.counts,
      syncedS: +sec(r.syncedMs),
      readyS: +sec(r.readyMs),
      cpuS: +r.cpuSeconds.toFixed(2),
      before: memoryJson(r.before),
      ready: memoryJson(r.ready),
      rssDeltaMB: +mb(r.ready.rss - r.before.rss),
      heapDeltaMB: +mb(r.ready.heapUsed - r.before.heapUsed),
      peakRssMB: +mb(r.peakRss),
      problems: { errors: r.problems.errors, warnings: r.problems.warnings },
      model: r.model,
      warmModelMs: +r.warmModelMs.toFixed(1),
      sidecar: { ...r.sidecar, ms: +r.sidecar.ms.toFixed(1) },
      nextSidecar: { ...r.nextSidecar, ms: +r.nextSidecar.ms.toFixed(1) },
      proxyless: { ...r.proxyless, ms: +r.proxyless.ms.toFixed(1) },
    })),
  };
  console.log(`\nKUBE_BENCH_RESULT ${JSON.stringify(json)}`);
}

main()
  .then(() => {
    clearTimeout(globalTimer);
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`kube-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
