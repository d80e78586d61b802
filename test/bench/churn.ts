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
 *    full GCs, then its memoryUsage() on stderr), for the memory readings. (The child and its readings
 *    live in churn-trellis.ts, shared with `npm run bench:soak`, soak.ts: memory over a long churn.)
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
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SotwClient } from '../support/ads-client.ts';
import { procBytes, USER_HZ } from '../support/proc.ts';
import {
  guardBench,
  mb,
  median,
  MiB,
  removeAtExit,
  replaceFile,
  RESPONSE_MS,
  Stayer,
  stopTrellis,
  table,
  Trellis,
  withPort,
  writeManifests,
} from './churn-trellis.ts';
import { CDS } from './config.ts';
import { positiveInt } from './harness.ts';
import { groupYaml, leanGroupYaml, namespaceName, serviceGroup, validateParams, type ScaleParams, type ServiceGroup } from './kube-objects.ts';

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
const mallocRaw = argv.malloc ?? 'tuned';
if (mallocRaw !== 'tuned' && mallocRaw !== 'default') throw new Error('--malloc must be tuned or default');
const mallocArg = mallocRaw;
const logLevel = argv['log-level'] ?? 'warn';
const podsArg = argv.pods ?? 'lean';
if (!['lean', 'full'].includes(podsArg)) throw new Error('--pods must be lean or full');
const fileYaml = podsArg === 'lean' ? leanGroupYaml : groupYaml;

const globalTimer = guardBench('churn-bench', timeoutSeconds);

function log(msg: string): void {
  process.stderr.write(`churn-bench: ${msg}\n`);
}

const TICK_MS = 1000 / USER_HZ;

// ---- edits ----

interface EditSample {
  cpuMs: number;
  latencyMs: number;
}

class Editor {
  private count = 0;
  constructor(
    private readonly dir: string,
    private readonly group: ServiceGroup,
    private readonly trellis: Trellis,
    private readonly stayer: Stayer,
  ) {}

  /** One edit: the file replaced by rename; CPU and time until the stayer has the new clusters. */
  async edit(): Promise<EditSample> {
    this.count += 1;
    const text = fileYaml(withPort(this.group, 1000 + this.count));
    const cpu0 = this.trellis.cpuMs();
    const t0 = performance.now();
    await replaceFile(this.dir, this.group, text);
    await this.stayer.nextVersion();
    const latencyMs = performance.now() - t0;
    return { cpuMs: this.trellis.cpuMs() - cpu0, latencyMs };
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
  readonly trellis: Trellis;
  readonly editor: Editor;
}

async function phase(name: string, run: Run): Promise<Phase> {
  const { trellis } = run;
  const rss = procBytes(trellis.pid, 'VmRSS');
  const gc = await trellis.memoryAfterGc();
  const classesStart = await trellis.classesHeld();
  trellis.resetPeak();
  const samples = await run.editor.series(edits);
  const peak = procBytes(trellis.pid, 'VmHWM');
  const classesEnd = await trellis.classesHeld();
  log(`${name}: ${samples.map((x) => `${x.cpuMs.toFixed(0)}/${x.latencyMs.toFixed(0)}`).join(' ')} ms (CPU/latency)`);
  return { name, classesStart, classesEnd, rss, gc, peak, samples };
}

const max = (xs: readonly number[]): number => Math.max(...xs);
const medMax = (xs: readonly number[]): string => `${median(xs).toFixed(0)} / ${max(xs).toFixed(0)}`;

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

async function start(): Promise<Run & { stayer: Stayer }> {
  const workDir = await mkdtemp(join(tmpdir(), 'trellis-churn-bench-'));
  removeAtExit(workDir);
  const manifests = join(workDir, 'manifests');
  await writeManifests(manifests, params, fileYaml);
  const trellis = await Trellis.start(manifests, { bench: 'churn-bench', classGraceMs, logLevel, malloc: mallocArg });
  const stayer = await Stayer.connect(trellis.xds, params);
  return { trellis, stayer, editor: new Editor(manifests, serviceGroup(0, params), trellis, stayer) };
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

  run.trellis.resetPeak();
  const churnMs = await churn(run.trellis.xds);
  const churnPeakRss = procBytes(run.trellis.pid, 'VmHWM');
  const churnEnd = performance.now();
  const rssAfterChurn = procBytes(run.trellis.pid, 'VmRSS');
  log(`churn done in ${(churnMs / 1000).toFixed(1)} s; measuring right after it`);
  const during = await phase('right after churn', run);
  if (during.classesEnd < churnCount)
    log(`warning: classes were released during the phase (${during.classesStart} → ${during.classesEnd}); a longer --class-grace keeps them`);

  log('waiting for the classes to be released');
  await run.trellis.classesBackTo(1, classGraceMs + 120_000);
  const releasedAfterMs = performance.now() - churnEnd;
  const after = await phase('after release', run);
  run.stayer.close();
  report(started, [baseline, during, after], { churnMs, churnPeakRss, rssAfterChurn, releasedAfterMs });
}

main()
  .then(() => {
    clearTimeout(globalTimer);
    stopTrellis();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`churn-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
