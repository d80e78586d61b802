/**
 * `npm run bench:soak`: memory under churn, against the real `trellis serve` (issue 14: memory stays flat;
 * nothing is left behind per disconnected proxy). The churn bench's machinery (churn-trellis.ts): Trellis
 * spawned on a manifests directory with --expose-gc, its SIGUSR2 hook (full GCs, then memoryUsage()) and
 * SIGUSR1 hook (full GCs, then a V8 heap snapshot; on for this bench only), the stayer, edits by rename.
 *
 *   npm run bench:soak                                  # 2 minutes, a sample every 15 s
 *   npm run bench:soak -- --minutes 10                  # a sample every 60 s
 *   npm run bench:soak -- --changes 300                 # 300 edits (and waves), however long they take
 *
 * 1. Writes the mesh (as bench:churn) and starts Trellis with --class-grace G (10 s here, so that the
 *    classes of a run are released within it), connects the stayer (the first Service's first Pod, CDS).
 * 2. A round: `--edit-gap` ms of quiet; an edit (the first Service's file rewritten by rename: a port not
 *    used before, one endpoint not ready in turn and an extra endpoint on a new address); the stayer waits
 *    for the new CDS version; then a wave of W proxies connects, B at a time, each its own class
 *    (`soak-wWWWWW-pPPP.<namespace>`, pods outside the mesh): R of them are the previous wave's leavers
 *    reconnecting under the same id (their classes still in grace), the rest new. Each subscribes to CDS
 *    and ACKs its first response; K of the new ones stay for S waves, ACKing the pushes the edits bring,
 *    the others leave at once.
 * 3. Warm-up: `--warmup-waves` rounds; the wave stayers leave; once /metrics says one class (the
 *    stayer's), the first heap snapshot, then the first sample (VmRSS, then RSS and heap used after full
 *    GCs): taking a snapshot leaves V8's heap profiler resident in the process, a step in RSS that the
 *    first sample must already include.
 * 4. The soak: rounds until `--minutes` have passed or `--changes` edits were made, whichever comes first;
 *    a sample every `--sample-every` seconds (between rounds).
 * 5. The wave stayers leave; once /metrics says one class again, the last sample, then the second snapshot.
 *    Both snapshots are read here and diffed by constructor (count, self size): the top growers, the
 *    growth per proxy that came and went, every constructor that grew by at least the number of waves,
 *    with the path from the root to one of its new objects (by V8 object id, new since the first snapshot).
 * Verdicts, against `--noise-mib` (RSS after GC) and `--heap-noise-mib` (V8 heap used): flat when
 * first → last (the same state: one class, after GC) and the fitted in-run slope over the run stay
 * within them; nothing left behind when no constructor grew by as many objects as there were waves.
 *
 * Options (besides bench:churn's --services, --pods-per-service, --namespaces, --pods, --malloc, --log-level):
 *   --minutes M (2)  --changes N  --sample-every SECONDS (60 for 8 minutes or more, else 15)
 *   --wave W (200)  --reconnect R (50)  --stayers K (20)  --stay-waves S (3)  --batch B (50)
 *   --warmup-waves (5)  --edit-gap MS (1000)  --class-grace MS (10000)
 *   --noise-mib (10)  --heap-noise-mib (2)  --top (20)  --keep-snapshots DIR
 *   --snapshots on|off   off: no heap snapshots (and no diff), RSS with no heap profiler in the process
 *   --timeout SECONDS    global limit; Trellis is killed, exit 2 (the run's length + 15 minutes)
 * Linux only (/proc). Exits 0 on success (whatever the verdicts), 1 on error, 2 on timeout.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SotwClient } from '../support/ads-client.ts';
import { procBytes } from '../support/proc.ts';
import { guardBench, MiB, removeAtExit, replaceFile, RESPONSE_MS, Stayer, stopTrellis, Trellis, withPort, writeManifests } from './churn-trellis.ts';
import { CDS } from './config.ts';
import { positiveInt } from './harness.ts';
import { groupYaml, leanGroupYaml, namespaceName, serviceGroup, validateParams, type ScaleParams, type ServiceGroup } from './kube-objects.ts';
import { reportSoak, type Soak } from './soak-print.ts';
import type { Sample } from './soak-report.ts';

const { values: argv } = parseArgs({
  options: Object.fromEntries(
    [
      'services',
      'pods-per-service',
      'namespaces',
      'pods',
      'malloc',
      'log-level',
      'minutes',
      'changes',
      'sample-every',
      'wave',
      'reconnect',
      'stayers',
      'stay-waves',
      'batch',
      'warmup-waves',
      'edit-gap',
      'class-grace',
      'noise-mib',
      'heap-noise-mib',
      'top',
      'keep-snapshots',
      'snapshots',
      'timeout',
    ].map((k) => [k, { type: 'string' as const }]),
  ),
  strict: true,
});
const opt = (name: string): string | undefined => argv[name];
const num = (name: string, dflt: number): number => positiveInt(opt(name), name, dflt);
/** A count that may be 0. */
const count = (name: string, dflt: number): number => (opt(name) === '0' ? 0 : num(name, dflt));

const params: ScaleParams = { services: num('services', 50), podsPerService: num('pods-per-service', 3), namespaces: num('namespaces', 4) };
validateParams(params);
const minutes = opt('minutes') === undefined && opt('changes') !== undefined ? undefined : num('minutes', 2);
const changes = opt('changes') === undefined ? undefined : num('changes', 1);
const sampleEvery = num('sample-every', minutes !== undefined && minutes >= 8 ? 60 : 15);
const wave = num('wave', 200);
const reconnect = Math.min(count('reconnect', 50), wave);
const stayers = Math.min(count('stayers', 20), wave - reconnect);
const stayWaves = num('stay-waves', 3);
const batch = num('batch', 50);
const warmupWaves = count('warmup-waves', 5);
const editGapMs = num('edit-gap', 1000);
const classGraceMs = num('class-grace', 10_000);
const noiseMiB = num('noise-mib', 10);
const heapNoiseMiB = num('heap-noise-mib', 2);
const top = num('top', 20);
const timeoutSeconds = num('timeout', (minutes ?? 0) * 60 + (changes ?? 0) * 10 + 900);
const mallocRaw = opt('malloc') ?? 'tuned';
if (mallocRaw !== 'tuned' && mallocRaw !== 'default') throw new Error('--malloc must be tuned or default');
const malloc = mallocRaw;
const snapshotsArg = opt('snapshots') ?? 'on';
if (snapshotsArg !== 'on' && snapshotsArg !== 'off') throw new Error('--snapshots must be on or off');
const snapshots = snapshotsArg === 'on';
const podsArg = opt('pods') ?? 'lean';
if (podsArg !== 'lean' && podsArg !== 'full') throw new Error('--pods must be lean or full');
const fileYaml = podsArg === 'lean' ? leanGroupYaml : groupYaml;

const globalTimer = guardBench('soak-bench', timeoutSeconds);
const log = (msg: string): void => void process.stderr.write(`soak-bench: ${msg}\n`);

// ---- edits: a new port, and endpoint changes ----

/** Edit n: the Service on port 1000 + n; endpoint n mod P not ready; an extra endpoint on 10.255.x.y. */
function editedGroup(g: ServiceGroup, n: number): ServiceGroup {
  const moved = withPort(g, 1000 + n);
  const slice = moved.slice as { endpoints: Record<string, unknown>[] };
  const notReady = n % slice.endpoints.length;
  const endpoints = slice.endpoints.map((e, i) => (i === notReady ? { ...e, conditions: { ready: false, serving: true, terminating: true } } : e));
  const extra = { addresses: [`10.255.${(n >> 8) & 255}.${n & 255 || 1}`], conditions: { ready: true, serving: true, terminating: false } };
  return { ...moved, slice: { ...moved.slice, endpoints: [...endpoints, extra] } };
}

// ---- the waves ----

/** A proxy of a wave: its first clusters, ACKed; then it leaves, or stays and ACKs what the edits push. */
class WaveProxy {
  private constructor(private readonly client: SotwClient) {}

  static async join(xds: string, id: string, stay: boolean): Promise<WaveProxy> {
    const client = await SotwClient.connect(xds, { node: { id } });
    const p = new WaveProxy(client);
    try {
      client.subscribe(CDS);
      client.ack(await client.next(CDS, RESPONSE_MS));
    } catch (err) {
      client.close();
      throw err;
    }
    if (stay) p.pump();
    else client.close();
    return p;
  }

  private pump(): void {
    const loop = async (): Promise<void> => {
      for (;;) this.client.ack(await this.client.next(CDS, 24 * 3600_000));
    };
    loop().catch(() => undefined);
  }

  leave(): void {
    this.client.close();
  }
}

interface Counts {
  edits: number;
  waves: number;
  /** Streams opened. */
  proxies: number;
  /** Distinct node ids (classes). */
  distinct: number;
}

class Churner {
  readonly counts: Counts = { edits: 0, waves: 0, proxies: 0, distinct: 0 };
  private staying: { until: number; p: WaveProxy }[] = [];
  private leavers: string[] = [];

  constructor(
    private readonly trellis: Trellis,
    private readonly manifests: string,
    private readonly stayer: Stayer,
  ) {}

  async round(): Promise<void> {
    await sleep(editGapMs);
    const first = serviceGroup(0, params);
    this.counts.edits += 1;
    await replaceFile(this.manifests, first, fileYaml(editedGroup(first, this.counts.edits)));
    await this.stayer.nextVersion();
    await this.wave();
  }

  private async wave(): Promise<void> {
    const w = this.counts.waves;
    this.counts.waves += 1;
    const fresh = Array.from(
      { length: wave - reconnect },
      (_, j) => `soak-w${String(w).padStart(6, '0')}-p${String(j).padStart(3, '0')}.${namespaceName(j % params.namespaces)}`,
    );
    const ids = [...this.leavers.slice(0, reconnect), ...fresh];
    const stays = new Set(fresh.slice(0, stayers));
    for (let i = 0; i < ids.length; i += batch) {
      const some = ids.slice(i, i + batch);
      const joined = await Promise.all(some.map((id) => WaveProxy.join(this.trellis.xds, id, stays.has(id))));
      joined.forEach((p, j) => stays.has(some[j] ?? '') && this.staying.push({ until: w + stayWaves, p }));
    }
    this.counts.proxies += ids.length;
    this.counts.distinct += fresh.length;
    this.leavers = fresh.filter((id) => !stays.has(id));
    this.leave((s) => s.until <= w);
  }

  /** The wave stayers `which` selects (all by default) leave. */
  leave(which: (s: { until: number }) => boolean = () => true): void {
    for (const s of this.staying.filter(which)) s.p.leave();
    this.staying = this.staying.filter((s) => !which(s));
  }
}

// ---- samples ----

async function sample(trellis: Trellis, t: number, c: Counts): Promise<Sample> {
  const rss = procBytes(trellis.pid, 'VmRSS');
  const gc = await trellis.memoryAfterGc();
  const s: Sample = { t, edits: c.edits, waves: c.waves, proxies: c.proxies, classes: await trellis.classesHeld(), rss, gcRss: gc.rss, heapUsed: gc.heapUsed };
  const mib = (b: number): string => (b / MiB).toFixed(1);
  log(
    `t=${Math.round(t)} s: ${c.edits} edits, ${c.proxies} proxies, ${s.classes} classes; RSS ${mib(rss)} MiB, after GC ${mib(gc.rss)}, heap ${mib(gc.heapUsed)}`,
  );
  return s;
}

/**
 * Once the wave stayers have left and the classes are released: a heap snapshot and a sample. The first time
 * the snapshot comes first: V8's heap profiler keeps what it learnt of the heap (object ids, native memory
 * that stays resident), so every sample after the first snapshot pays for it alike.
 */
async function settled(trellis: Trellis, churner: Churner, t: () => number, snapshotFirst: boolean): Promise<Settled> {
  churner.leave();
  const waitedMs = await trellis.classesBackTo(1, classGraceMs + 120_000);
  const snap = async (): Promise<string | undefined> => {
    if (!snapshots) return undefined;
    const t1 = performance.now();
    const path = await trellis.heapSnapshot();
    log(`heap snapshot ${path} in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    return path;
  };
  const before = snapshotFirst ? await snap() : undefined;
  const s = await sample(trellis, t(), churner.counts);
  const snapshot = snapshotFirst ? before : await snap();
  return { sample: s, snapshot, waitedMs };
}

interface Settled {
  readonly sample: Sample;
  readonly snapshot: string | undefined;
  readonly waitedMs: number;
}

async function main(): Promise<void> {
  const cpu = cpus();
  const started = new Date().toISOString();
  const until = [minutes !== undefined ? `${minutes} min` : '', changes !== undefined ? `${changes} edits` : ''].filter(Boolean).join(' or ');
  console.log(
    `Trellis soak bench — ${started}, Node ${process.version}, ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB\n` +
      `${params.services} Services, ${params.services * params.podsPerService} Pods (${podsArg}) in ${params.namespaces} namespaces; ${until}; ` +
      `waves of ${wave} proxies (${reconnect} reconnecting, ${stayers} staying ${stayWaves} waves), ${batch} at a time; ` +
      `${editGapMs} ms before each edit; --class-grace ${classGraceMs}; a sample every ${sampleEvery} s\n`,
  );
  const workDir = await mkdtemp(join(tmpdir(), 'trellis-soak-bench-'));
  removeAtExit(workDir);
  const manifests = join(workDir, 'manifests');
  const snapshotDir = opt('keep-snapshots') ?? join(workDir, 'snapshots');
  mkdirSync(snapshotDir, { recursive: true });
  await writeManifests(manifests, params, fileYaml);
  const trellis = await Trellis.start(manifests, {
    bench: 'soak-bench',
    classGraceMs,
    logLevel: opt('log-level') ?? 'warn',
    malloc,
    ...(snapshots ? { snapshotDir } : {}),
  });
  const stayer = await Stayer.connect(trellis.xds, params);
  const churner = new Churner(trellis, manifests, stayer);

  for (let i = 0; i < warmupWaves; i++) await churner.round();
  log(`warm-up: ${warmupWaves} waves; waiting for the classes to be released`);
  const warm = { ...churner.counts };
  Object.assign(churner.counts, { edits: 0, waves: 0, proxies: 0, distinct: 0 });
  const first = await settled(trellis, churner, () => 0, true);
  const t0 = performance.now();
  const since = (): number => (performance.now() - t0) / 1000;
  const series: Sample[] = [first.sample];
  let nextSample = t0 + sampleEvery * 1000;
  const done = (): boolean =>
    (minutes !== undefined && performance.now() - t0 >= minutes * 60_000) || (changes !== undefined && churner.counts.edits >= changes);
  while (!done()) {
    await churner.round();
    if (performance.now() >= nextSample) {
      series.push(await sample(trellis, since(), churner.counts));
      nextSample += sampleEvery * 1000 * Math.max(1, Math.ceil((performance.now() - nextSample) / (sampleEvery * 1000)));
    }
  }
  const soakSeconds = (performance.now() - t0) / 1000;
  log(`soak done: ${churner.counts.edits} edits, ${churner.counts.proxies} proxies in ${soakSeconds.toFixed(0)} s; waiting for the classes to be released`);
  const last = await settled(trellis, churner, since, false);
  stayer.close();
  const soak: Soak = {
    started,
    params: {
      ...params,
      pods: podsArg,
      minutes,
      changes,
      sampleEvery,
      wave,
      reconnect,
      stayers,
      stayWaves,
      batch,
      warmupWaves,
      editGapMs,
      classGraceMs,
      malloc,
    },
    warm,
    counts: churner.counts,
    soakSeconds,
    series,
    first: first.sample,
    last: last.sample,
    releasedAfterMs: last.waitedMs,
    snapshots: first.snapshot && last.snapshot ? [first.snapshot, last.snapshot] : undefined,
    noiseMiB,
    heapNoiseMiB,
    top,
  };
  stopTrellis();
  await reportSoak(soak);
}

main()
  .then(() => {
    clearTimeout(globalTimer);
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`soak-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
