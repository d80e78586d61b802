/**
 * `npm run bench:churn`: proxy churn against the real `trellis serve` process, end to end. Issue 11:
 * proxy classes were never released, and 10 000 connect-and-leave proxies took RSS 162 → ~340 MB, CPU
 * per edit 50 → 600 ms and push latency 130 ms → 1.0–1.8 s. Baseline, right after the churn and after
 * the release come from one process in one run.
 *
 *   npm run bench:churn -- --churn 10000 --edits 10 --services 50
 *
 * 1. Writes a manifests directory in a tmpdir (test/bench/kube-objects.ts): S Services in N
 *    namespaces, one file per Service with its EndpointSlice and P Pods, and the Namespaces.
 * 2. Spawns `trellis serve` on it (src/cli.ts through tsx, as `npm start` runs it, with
 *    MALLOC_MMAP_THRESHOLD_=131072), xDS and the debug endpoint on free loopback ports, `--class-grace`;
 *    waits for /readyz 200. The child also runs with --expose-gc and a one-line hook (SIGUSR2: three
 *    full GCs, then its memoryUsage() on stderr), for the memory readings.
 * 3. A stayer, the sidecar of the first Service's first Pod (SotwClient, test/support/ads-client.ts),
 *    subscribes to CDS and stays connected throughout, ACKing what it receives.
 * 4. Baseline, after W unmeasured edits: RSS (/proc/PID/status VmRSS as found, then RSS and V8 heap
 *    after the GCs) and, over M edits, the CPU per edit (utime+stime from /proc/PID/stat, all threads,
 *    10 ms ticks, from just before the edit until the stayer has the new CDS version), the push latency
 *    (edit written → the stayer receives the response) and the peak RSS (VmHWM, reset before the
 *    edits through /proc/PID/clear_refs). An edit rewrites the first Service's file with a port not
 *    used before (a new cluster, a new CDS version) into a hidden file in the same directory and
 *    renames it over the old one: the manifests source takes a rename at once (an in-place write waits
 *    out its settle window). `--edit-gap` ms of quiet before each edit.
 * 5. Churn: C distinct proxies (pods `churn-NNNNN`, none of them in the mesh, so each is its own proxy
 *    class) connect, B at a time; each waits for its first CDS response and leaves.
 * 6. Right after the churn, while the classes wait out the grace period: the same figures. The classes
 *    /metrics reports before and after the phase's edits say how many each edit rebuilt: what releasing
 *    them spares. The default grace (60 s) outlasts the churn and this phase on a 2-core machine; the
 *    bench warns when classes were released during it.
 * 7. Waits until /metrics (trellis_cache_proxy_classes) reports one class, the stayer's, then measures
 *    the same figures again.
 *
 * The manifests source parses every file again on each change, so CPU per edit grows with the
 * directory: with `--pods full` (kube-scale's Pods) or many Services, YAML dominates the baseline.
 *
 * Options:
 *   --services S (50)  --pods-per-service P (3)  --namespaces N (4)   the mesh
 *   --pods lean|full         Pods with only the fields Trellis reads (lean) or kube-scale's (full)
 *   --edits M (10)           measured edits per phase
 *   --warmup-edits W (10)    unmeasured edits before the baseline
 *   --edit-gap MS (500)      quiet time before each edit
 *   --churn C (10000)        distinct proxies that connect and leave
 *   --batch B (50)           proxies connected at once during the churn
 *   --class-grace MS (60000) Trellis's --class-grace
 *   --timeout SECONDS        global limit; Trellis is killed, exit 2 (600)
 *   --malloc tuned|default   Trellis with MALLOC_MMAP_THRESHOLD_=131072 (as `npm start`) or glibc's defaults
 *   --log-level LEVEL        Trellis's log level (warn); its output is printed only if it exits
 * Linux only (/proc). Exits 0 on success, 1 on error, 2 on timeout; Trellis is killed in every case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SotwClient } from '../support/ads-client.ts';
import { pollFor } from '../support/poll.ts';
import { cpuSeconds, procBytes, USER_HZ } from '../support/proc.ts';
import { releasedLoopbackPort } from '../support/ports.ts';
import { CDS } from './config.ts';
import { positiveInt } from './harness.ts';
import { groupYaml, leanGroupYaml, namespaceName, namespacesYaml, serviceGroup, validateParams, type ScaleParams, type ServiceGroup } from './kube-objects.ts';

// ---- options ----

const { values: argv } = parseArgs({
  options: {
    services: { type: 'string' },
    'pods-per-service': { type: 'string' },
    namespaces: { type: 'string' },
    edits: { type: 'string' },
    'warmup-edits': { type: 'string' },
    'edit-gap': { type: 'string' },
    churn: { type: 'string' },
    batch: { type: 'string' },
    'class-grace': { type: 'string' },
    timeout: { type: 'string' },
    malloc: { type: 'string' },
    'log-level': { type: 'string' },
    pods: { type: 'string' },
  },
  strict: true,
});

type NumberOption = 'services' | 'pods-per-service' | 'namespaces' | 'edits' | 'warmup-edits' | 'edit-gap' | 'churn' | 'batch' | 'class-grace' | 'timeout';

function num(name: NumberOption, dflt: number): number {
  return positiveInt(argv[name], name, dflt);
}

const params: ScaleParams = { services: num('services', 50), podsPerService: num('pods-per-service', 3), namespaces: num('namespaces', 4) };
validateParams(params);
const edits = num('edits', 10);
const warmupEdits = num('warmup-edits', 10);
const editGapMs = num('edit-gap', 500);
const churnCount = num('churn', 10_000);
const batch = num('batch', 50);
const classGraceMs = num('class-grace', 60_000);
const timeoutSeconds = num('timeout', 600);
const mallocArg = argv.malloc ?? 'tuned';
if (!['tuned', 'default'].includes(mallocArg)) throw new Error('--malloc must be tuned or default');
const logLevel = argv['log-level'] ?? 'warn';
const podsArg = argv.pods ?? 'lean';
if (!['lean', 'full'].includes(podsArg)) throw new Error('--pods must be lean or full');
const fileYaml = podsArg === 'lean' ? leanGroupYaml : groupYaml;
/** How long one proxy may wait for a response (a push after an edit, a churned proxy's first clusters). */
const RESPONSE_MS = 30_000;

// ---- the child, and cleanup ----

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');
let child: ChildProcess | undefined;
let childOutput = '';
let workDir: string | undefined;

function cleanup(): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
  workDir = undefined;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
const globalTimer = setTimeout(() => {
  process.stderr.write(`churn-bench: global timeout of ${timeoutSeconds} s reached; killing Trellis\n`);
  process.exit(2);
}, timeoutSeconds * 1000);

function log(msg: string): void {
  process.stderr.write(`churn-bench: ${msg}\n`);
}

/**
 * The bench's one addition to the child, for its memory readings: on SIGUSR2, three full GCs, then
 * process.memoryUsage() as one stderr line. Nothing else in the process changes.
 */
const GC_MARK = 'churn-bench-gc ';
const GC_HOOK = `process.on('SIGUSR2',()=>{for(let i=0;i<3;i++)globalThis.gc();process.stderr.write('${GC_MARK}'+JSON.stringify(process.memoryUsage())+'\\n')})`;
const gcWaiters: ((m: NodeJS.MemoryUsage) => void)[] = [];

function startTrellis(manifests: string, xdsPort: number, debugPort: number): ChildProcess {
  const args = ['--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(GC_HOOK)}`, '--import', tsx, 'src/cli.ts', 'serve'];
  args.push('--manifests', manifests, '--xds-address', `127.0.0.1:${xdsPort}`, '--debug-address', `127.0.0.1:${debugPort}`);
  args.push('--class-grace', String(classGraceMs), '--log-level', logLevel);
  const env = { ...process.env, ...(mallocArg === 'tuned' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {}) };
  const c = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (line: string): void => void (childOutput = `${childOutput}${line}\n`.slice(-20_000));
  createInterface({ input: c.stdout }).on('line', keep);
  createInterface({ input: c.stderr }).on('line', (line) => {
    if (line.startsWith(GC_MARK)) gcWaiters.shift()?.(JSON.parse(line.slice(GC_MARK.length)) as NodeJS.MemoryUsage);
    else keep(line);
  });
  c.on('exit', (code, signal) => {
    if (child === c) child = undefined;
    log(`Trellis exited (code ${String(code)}, signal ${String(signal)}); its last output:\n${childOutput}`);
    process.exit(1);
  });
  return c;
}

/** The child's memory after full GCs (through its SIGUSR2 hook). */
function memoryAfterGc(c: ChildProcess): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory reading from Trellis within 30 s')), 30_000);
    gcWaiters.push((m) => (clearTimeout(timer), resolve(m)));
    c.kill('SIGUSR2');
  });
}

// ---- what the child uses: /proc and /metrics ----

const TICK_MS = 1000 / USER_HZ;

/** utime + stime of the whole process (every thread), in ms. */
const cpuMs = (pid: number): number => cpuSeconds(pid) * 1000;

/** Resets VmHWM to the current RSS (Linux 4.0+): the next reading is the peak from now on. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The proxy classes /metrics reports (a view Trellis caches for a second). */
async function classesHeld(debug: string): Promise<number> {
  const text = await (await fetch(`${debug}/metrics`)).text();
  const m = /^trellis_cache_proxy_classes (\d+)$/m.exec(text);
  if (!m) throw new Error('/metrics has no trellis_cache_proxy_classes');
  return Number(m[1]);
}

// ---- the mesh, and edits ----

async function writeManifests(dir: string): Promise<void> {
  for (let n = 0; n < params.namespaces; n++) mkdirSync(join(dir, namespaceName(n)), { recursive: true });
  await writeFile(join(dir, 'namespaces.yaml'), namespacesYaml(params));
  for (let i = 0; i < params.services; i++) {
    const g = serviceGroup(i, params);
    await writeFile(join(dir, g.namespace, `${g.name}.yaml`), fileYaml(g));
  }
}

/** The group with its Service on another port (a new cluster name, so a new CDS version). */
function withPort(g: ServiceGroup, port: number): ServiceGroup {
  const spec = g.service.spec as { ports: Record<string, unknown>[] };
  return { ...g, service: { ...g.service, spec: { ...spec, ports: spec.ports.map((p) => ({ ...p, port })) } } };
}

interface EditSample {
  cpuMs: number;
  latencyMs: number;
}

class Stayer {
  private version = '';
  private constructor(private readonly client: SotwClient) {}

  static async connect(xds: string, id: string): Promise<Stayer> {
    const s = new Stayer(await SotwClient.connect(xds, { node: { id } }));
    s.client.subscribe(CDS);
    await s.nextVersion();
    return s;
  }

  /** Waits for a CDS response with a version other than the last one, ACKing each response. */
  async nextVersion(): Promise<void> {
    for (;;) {
      const res = await this.client.next(CDS, RESPONSE_MS);
      this.client.ack(res);
      if (res.versionInfo !== this.version) {
        this.version = res.versionInfo;
        return;
      }
    }
  }

  close(): void {
    this.client.close();
  }
}

class Editor {
  private count = 0;
  constructor(
    private readonly dir: string,
    private readonly group: ServiceGroup,
    private readonly pid: number,
    private readonly stayer: Stayer,
  ) {}

  /** One edit: the file replaced by rename; CPU and time until the stayer has the new clusters. */
  async edit(): Promise<EditSample> {
    this.count += 1;
    const file = join(this.dir, this.group.namespace, `${this.group.name}.yaml`);
    const tmp = join(this.dir, this.group.namespace, `.${this.group.name}.yaml.tmp`);
    const text = fileYaml(withPort(this.group, 1000 + this.count));
    const cpu0 = cpuMs(this.pid);
    const t0 = performance.now();
    await writeFile(tmp, text);
    await rename(tmp, file);
    await this.stayer.nextVersion();
    const latencyMs = performance.now() - t0;
    return { cpuMs: cpuMs(this.pid) - cpu0, latencyMs };
  }

  async series(n: number): Promise<EditSample[]> {
    const samples: EditSample[] = [];
    for (let i = 0; i < n; i++) {
      await sleep(editGapMs);
      samples.push(await this.edit());
    }
    return samples;
  }
}

// ---- churn ----

/** One proxy of its own class: connects, gets its clusters, leaves. */
async function connectAndLeave(xds: string, i: number): Promise<void> {
  const id = `churn-${String(i).padStart(5, '0')}.${namespaceName(i % params.namespaces)}`;
  const c = await SotwClient.connect(xds, { node: { id } });
  try {
    c.subscribe(CDS);
    await c.next(CDS, RESPONSE_MS);
  } finally {
    c.close();
  }
}

async function churn(xds: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < churnCount; i += batch) {
    const size = Math.min(batch, churnCount - i);
    await Promise.all(Array.from({ length: size }, (_, j) => connectAndLeave(xds, i + j)));
    if ((i / batch) % 40 === 39) log(`  ${i + size} proxies connected and left`);
  }
  return performance.now() - t0;
}

// ---- phases and report ----

interface Phase {
  name: string;
  classesStart: number;
  classesEnd: number;
  /** VmRSS as found at the start. */
  rss: number;
  /** The child's memory after full GCs, at the start. */
  gc: NodeJS.MemoryUsage;
  /** The highest RSS during the edits (VmHWM, reset after the GCs). */
  peak: number;
  samples: EditSample[];
}

interface Run {
  readonly c: ChildProcess;
  readonly pid: number;
  readonly debug: string;
  readonly editor: Editor;
}

async function phase(name: string, run: Run): Promise<Phase> {
  const rss = procBytes(run.pid, 'VmRSS');
  const gc = await memoryAfterGc(run.c);
  const classesStart = await classesHeld(run.debug);
  resetPeak(run.pid);
  const samples = await run.editor.series(edits);
  const peak = procBytes(run.pid, 'VmHWM');
  const classesEnd = await classesHeld(run.debug);
  log(`${name}: ${samples.map((x) => `${x.cpuMs.toFixed(0)}/${x.latencyMs.toFixed(0)}`).join(' ')} ms (CPU/latency)`);
  return { name, classesStart, classesEnd, rss, gc, peak, samples };
}

const MiB = 1024 * 1024;
const mb = (b: number): string => (b / MiB).toFixed(0);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const max = (xs: readonly number[]): number => Math.max(...xs);
const medMax = (xs: readonly number[]): string => `${median(xs).toFixed(0)} / ${max(xs).toFixed(0)}`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

function phaseRow(p: Phase): string[] {
  const classes = p.classesStart === p.classesEnd ? String(p.classesStart) : `${p.classesStart} → ${p.classesEnd}`;
  const memory = [p.rss, p.gc.rss, p.gc.heapUsed, p.peak].map(mb);
  return [p.name, classes, ...memory, medMax(p.samples.map((s) => s.cpuMs)), medMax(p.samples.map((s) => s.latencyMs))];
}

function phaseJson(p: Phase): Record<string, unknown> {
  const mib = (b: number): number => +(b / MiB).toFixed(1);
  return {
    phase: p.name,
    classes: [p.classesStart, p.classesEnd],
    rssMiB: mib(p.rss),
    gc: {
      rssMiB: mib(p.gc.rss),
      heapTotalMiB: mib(p.gc.heapTotal),
      heapUsedMiB: mib(p.gc.heapUsed),
      externalMiB: mib(p.gc.external),
      arrayBuffersMiB: mib(p.gc.arrayBuffers),
    },
    peakRssMiB: mib(p.peak),
    cpuMs: p.samples.map((s) => Math.round(s.cpuMs)),
    latencyMs: p.samples.map((s) => Math.round(s.latencyMs)),
  };
}

interface ChurnFigures {
  churnMs: number;
  /** The highest RSS during the churn, and RSS right after it. */
  churnPeakRss: number;
  rssAfterChurn: number;
  releasedAfterMs: number;
}

function report(started: string, phases: readonly Phase[], f: ChurnFigures): void {
  const header = ['phase', 'proxy classes', 'RSS (MiB)', 'RSS after GC', 'heap after GC', 'peak RSS in edits', 'CPU per edit, median / max (ms)'];
  console.log(table([...header, 'push latency, median / max (ms)'], phases.map(phaseRow)));
  const perSecond = (churnCount / (f.churnMs / 1000)).toFixed(0);
  console.log(
    [
      '',
      `- churn: ${churnCount} proxies in ${(f.churnMs / 1000).toFixed(1)} s (${perSecond}/s); peak RSS during it ${mb(f.churnPeakRss)} MiB, RSS right after it ${mb(f.rssAfterChurn)} MiB.`,
      `- classes back to 1 about ${(f.releasedAfterMs / 1000).toFixed(1)} s after the churn ended (--class-grace ${classGraceMs} ms; /metrics is cached for 1 s, polled every 250 ms).`,
      "- proxy classes: /metrics before → after the phase's edits. RSS: VmRSS as found at the start of the phase; after GC: RSS and V8 heap used after three full GCs (the SIGUSR2 hook); peak: VmHWM over the phase's edits.",
      `- CPU per edit: utime+stime of the Trellis process (all threads, ${TICK_MS} ms ticks) from just before the edit until the stayer has the new CDS version; push latency: edit written → response received (includes --debounce-min, 100 ms by default).`,
      `- baseline after ${warmupEdits} unmeasured edits; ${editGapMs} ms quiet before each edit; ${podsArg} Pods; Trellis with ${mallocArg === 'tuned' ? 'MALLOC_MMAP_THRESHOLD_=131072' : "glibc's malloc defaults"}.`,
    ].join('\n'),
  );
  const json = {
    date: started,
    node: process.version,
    cores: cpus().length,
    params: { ...params, pods: podsArg, edits, warmupEdits, editGapMs, churn: churnCount, batch, classGraceMs, malloc: mallocArg },
    churnS: +(f.churnMs / 1000).toFixed(1),
    churnPeakRssMiB: +(f.churnPeakRss / MiB).toFixed(1),
    rssAfterChurnMiB: +(f.rssAfterChurn / MiB).toFixed(1),
    releasedAfterS: +(f.releasedAfterMs / 1000).toFixed(1),
    phases: phases.map(phaseJson),
  };
  console.log(`\nCHURN_BENCH_RESULT ${JSON.stringify(json)}`);
}

// ---- main ----

async function start(): Promise<Run & { xds: string; stayer: Stayer }> {
  workDir = await mkdtemp(join(tmpdir(), 'trellis-churn-bench-'));
  const manifests = join(workDir, 'manifests');
  await writeManifests(manifests);
  const [xdsPort, debugPort] = [await releasedLoopbackPort(), await releasedLoopbackPort()];
  const xds = `127.0.0.1:${xdsPort}`;
  const debug = `http://127.0.0.1:${debugPort}`;
  const t0 = performance.now();
  const c = startTrellis(manifests, xdsPort, debugPort);
  child = c;
  const pid = c.pid;
  if (pid === undefined) throw new Error('Trellis did not start');
  const readyz = async (): Promise<number> => (await fetch(`${debug}/readyz`).catch(() => undefined))?.status ?? 0;
  await pollFor('Trellis ready (/readyz 200)', readyz, (s) => s === 200, 120_000, 100);
  log(`Trellis (pid ${pid}) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const first = serviceGroup(0, params);
  const stayer = await Stayer.connect(xds, `${first.pods[0]?.name ?? 'stayer'}.${first.namespace}`);
  return { c, pid, debug, xds, stayer, editor: new Editor(manifests, first, pid, stayer) };
}

async function main(): Promise<void> {
  const cpu = cpus();
  const started = new Date().toISOString();
  console.log(
    `Trellis churn bench — ${started}, Node ${process.version}, ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB\n` +
      `${params.services} Services, ${params.services * params.podsPerService} Pods (${podsArg}) in ${params.namespaces} namespaces; ` +
      `${churnCount} proxies churn, ${batch} at a time; --class-grace ${classGraceMs}; ${edits} edits per phase\n`,
  );
  const run = await start();
  await run.editor.series(warmupEdits);
  const baseline = await phase('baseline', run);
  log(`churning ${churnCount} proxies`);

  resetPeak(run.pid);
  const churnMs = await churn(run.xds);
  const churnPeakRss = procBytes(run.pid, 'VmHWM');
  const churnEnd = performance.now();
  const rssAfterChurn = procBytes(run.pid, 'VmRSS');
  log(`churn done in ${(churnMs / 1000).toFixed(1)} s; measuring right after it`);
  const during = await phase('right after churn', run);
  if (during.classesEnd < churnCount)
    log(`warning: classes were released during the phase (${during.classesStart} → ${during.classesEnd}); a longer --class-grace keeps them`);

  log('waiting for the classes to be released');
  const released = (n: number): boolean => n === 1;
  await pollFor('the classes released (/metrics: 1 class)', () => classesHeld(run.debug), released, classGraceMs + 120_000, 250);
  const releasedAfterMs = performance.now() - churnEnd;
  const after = await phase('after release', run);
  run.stayer.close();
  report(started, [baseline, during, after], { churnMs, churnPeakRss, rssAfterChurn, releasedAfterMs });
}

main()
  .then(() => {
    clearTimeout(globalTimer);
    const c = child;
    child = undefined;
    c?.removeAllListeners('exit');
    c?.kill('SIGKILL');
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`churn-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
