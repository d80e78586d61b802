/**
 * `npm run bench:source`: from the source to the proxy (issue 14). A change to one of K manifest
 * files, written as editors and `git checkout` write (beside it, then renamed over it), until the
 * first and the last of P proxies have ACKed the new endpoints.
 *
 *   npm run bench:source -- --services 1000 --endpoints 10 --proxies 100 --edits 30
 *
 * 1. Writes K files in a tmpdir (the Namespaces, then one file per Service: the Service and its
 *    EndpointSlice of E endpoints, as test/bench/kube-objects.ts makes them; no Pods).
 * 2. Spawns `trellis serve --manifests DIR` (src/cli.ts through tsx, as `npm start` runs it), xDS and
 *    the debug endpoint on free loopback ports; waits for /readyz.
 * 3. P proxies (SotwClient, one stream each) subscribe to CDS, then to EDS for the first Service's
 *    cluster, and ACK every response at once. Proxy j is node `source-bench-<j mod C>`: C proxy classes
 *    (a sidecar's class is its pod; 1 by default, as replicas of one workload share everything).
 * 4. Each edit gives the first Service's endpoints new addresses. The clock starts when the file is
 *    renamed over the old one and stops when a proxy has ACKed the load assignment with the new
 *    addresses: the first proxy (the target: within Trellis's --debounce-min, 100 ms, plus 50 ms) and
 *    the last. `--edit-gap` ms of quiet before each edit.
 * 5. Where the time to the first ACK goes, from what Trellis logs of each rebuild (its `serving` line at
 *    info: the debounce it waited, the model, translation and the cache's hashing and encoding, the
 *    classes translated and the resources encoded): the source is the rename until the debounce
 *    began (the watch, the read and the parse), the push is the rebuild's end until the first ACK
 *    (writing the responses, the proxy decoding and ACKing).
 *
 * Options: --services K (1000)  --endpoints E (10)  --proxies P (100)  --classes C (1)  --edits N (30)  --warmup W (5)
 *          --edit-gap MS (300)  --timeout SECONDS (600)
 *          --profile DIR   Trellis runs with --cpu-prof into DIR (the whole run: start-up, then the edits;
 *                          summarize with test/bench/profile.ts)
 * Exits 1 on error, 2 on timeout; a missed target is printed as MISS (exit 0 unless TRELLIS_BENCH_STRICT=1).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { SotwClient, type SotwResponse } from '../support/ads-client.ts';
import { releasedLoopbackPort } from '../support/ports.ts';
import { httpOk, launch, LogTail, pollUntil, terminate, type Proc } from '../support/processes.ts';
import { CDS, EDS } from './config.ts';
import { positiveInt } from './harness.ts';
import { namespacesYaml, serviceGroup, type ScaleParams } from './kube-objects.ts';
import { pct } from './report.ts';

const DEBOUNCE_MIN_MS = 100;
const TARGET_MS = DEBOUNCE_MIN_MS + 50;

const { values: argv } = parseArgs({
  options: {
    services: { type: 'string' },
    endpoints: { type: 'string' },
    proxies: { type: 'string' },
    classes: { type: 'string' },
    edits: { type: 'string' },
    warmup: { type: 'string' },
    'edit-gap': { type: 'string' },
    timeout: { type: 'string' },
    profile: { type: 'string' },
  },
  strict: true,
});

function num(name: Exclude<keyof typeof argv, 'profile'>, dflt: number): number {
  return positiveInt(argv[name], name, dflt);
}

const services = num('services', 1000);
const endpoints = num('endpoints', 10);
const proxies = num('proxies', 100);
const classes = num('classes', 1);
const edits = num('edits', 30);
const warmup = num('warmup', 5);
const editGapMs = num('edit-gap', 300);
const timeoutSeconds = num('timeout', 600);
const scale: ScaleParams = { services, podsPerService: endpoints, namespaces: 1 };
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const log = (line: string): void => void process.stderr.write(`source-bench: ${line}\n`);

/** The first Service's file at edit `version`: its endpoints moved to 10.200.<version>.x. */
function fileYaml(i: number, version: number): string {
  const g = serviceGroup(i, scale);
  const list = (g.slice as { endpoints: Record<string, unknown>[] }).endpoints;
  const slice = version === 0 ? g.slice : { ...g.slice, endpoints: list.map((e, j) => ({ ...e, addresses: [addressAt(version, j)] })) };
  return [g.service, slice].map((d) => stringify(d)).join('---\n');
}

function addressAt(version: number, j: number): string {
  return `10.${200 + (version % 50)}.${Math.floor(version / 50) % 250}.${j + 1}`;
}

async function writeMesh(dir: string): Promise<string> {
  const ns = serviceGroup(0, scale).namespace;
  mkdirSync(join(dir, ns), { recursive: true });
  await writeFile(join(dir, 'namespaces.yaml'), namespacesYaml(scale));
  for (let i = 0; i < services; i++) await writeFile(join(dir, ns, `${serviceGroup(i, scale).name}.yaml`), fileYaml(i, 0));
  return join(dir, ns, `${serviceGroup(0, scale).name}.yaml`);
}

/** What Trellis logged of one rebuild (the `rebuild` of its `serving` line), at `at` (epoch ms, when it ended). */
interface Rebuild {
  readonly at: number;
  readonly debounceMs: number;
  readonly modelMs: number;
  readonly translateMs: number;
  readonly cacheMs: number;
  readonly classes: number;
  readonly encoded: number;
}

/** Trellis's log lines, keeping each rebuild's cost. */
class TrellisLog extends LogTail {
  readonly rebuilds: Rebuild[] = [];
  private waiting: (() => void)[] = [];

  /** Resolves once a rebuild that `test` holds of has been logged (its line can come after the ACKs it caused), or after `ms`. */
  async rebuild(test: (r: Rebuild) => boolean, ms: number): Promise<Rebuild | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.rebuilds.findLast(test);
      if (found || Date.now() >= deadline) return found;
      const timer = setTimeout(() => this.wake(), deadline - Date.now());
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      clearTimeout(timer);
    }
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  override add(line: string): void {
    super.add(line);
    const brace = line.indexOf('{');
    if (brace < 0 || !line.includes('"rebuild"')) return;
    try {
      const l = JSON.parse(line.slice(brace)) as { time?: string; msg?: string; rebuild?: Omit<Rebuild, 'at'> };
      if (l.msg?.startsWith('serving ') && l.rebuild && l.time) {
        this.rebuilds.push({ at: Date.parse(l.time), ...l.rebuild });
        this.wake();
      }
    } catch {
      // not one of Trellis's JSON lines
    }
  }
}

/** One edit's time to the first ACK by stage (ms), from the last rebuild before that ACK. */
interface Stages {
  readonly source: number;
  readonly debounce: number;
  readonly model: number;
  readonly translate: number;
  readonly cache: number;
  readonly push: number;
  readonly classes: number;
  readonly encoded: number;
}

/** From the rebuild that made the first ACK's configuration: the last one logged between the rename and that ACK. */
async function stagesOf(log: TrellisLog, renamedAt: number, firstAckAt: number): Promise<Stages | undefined> {
  // Log times have millisecond resolution.
  const r = await log.rebuild((x) => x.at >= renamedAt && x.at <= firstAckAt + 1, 5_000);
  if (!r) return undefined;
  const busy = r.modelMs + r.translateMs + r.cacheMs;
  return {
    source: r.at - busy - r.debounceMs - renamedAt,
    debounce: r.debounceMs,
    model: r.modelMs,
    translate: r.translateMs,
    cache: r.cacheMs,
    push: firstAckAt - r.at,
    classes: r.classes,
    encoded: r.encoded,
  };
}

async function startTrellis(dir: string): Promise<{ proc: Proc; xds: string; log: TrellisLog }> {
  const xdsPort = await releasedLoopbackPort();
  const debugPort = await releasedLoopbackPort();
  const tsx = join(repoRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
  const profile = argv.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${argv.profile}`];
  const args = [...profile, '--import', tsx, join(repoRoot, 'src', 'cli.ts'), 'serve', '--manifests', dir];
  args.push('--xds-address', `127.0.0.1:${xdsPort}`, '--debug-address', `127.0.0.1:${debugPort}`, '--log-level', 'info');
  const tail = new TrellisLog('trellis');
  const proc = launch('trellis', process.execPath, args, tail, { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' });
  await pollUntil('ready', proc, tail, () => httpOk(`http://127.0.0.1:${debugPort}/readyz`), timeoutSeconds * 1000);
  return { proc, xds: `127.0.0.1:${xdsPort}`, log: tail };
}

/** One proxy: CDS, then EDS for the cluster of the first Service; every response ACKed at once. */
class Proxy {
  /** The time it ACKed a load assignment holding `want`, once. */
  private waiting: { want: string; done: (at: number) => void } | undefined;

  private constructor(private readonly client: SotwClient) {}

  static async connect(xds: string, j: number, clusterOf: (r: SotwResponse) => string): Promise<Proxy> {
    const client = await SotwClient.connect(xds, { node: { id: `source-bench-${j % classes}`, cluster: 'bench' } });
    client.subscribe(CDS);
    const cds = await client.next(CDS, 60_000);
    client.ack(cds);
    const p = new Proxy(client);
    client.subscribe(EDS, [clusterOf(cds)]);
    client.ack(await client.next(EDS, 60_000));
    void p.loop();
    return p;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const res = await this.client.next(undefined, 24 * 3600_000).catch(() => undefined);
      if (res === undefined) return;
      this.client.ack(res);
      const w = this.waiting;
      if (w && res.typeUrl === EDS && JSON.stringify(res.resources).includes(w.want)) {
        this.waiting = undefined;
        w.done(performance.now());
      }
    }
  }

  until(want: string): Promise<number> {
    return new Promise((done) => (this.waiting = { want, done }));
  }

  close(): void {
    this.client.close();
  }
}

/** The EDS name of the first Service's cluster, from the CDS response. */
function firstServiceCluster(cds: SotwResponse): string {
  const name = serviceGroup(0, scale).name;
  const found = JSON.stringify(cds.resources).match(new RegExp(`"(outbound\\|80\\|\\|${name}\\.[^"]+)"`));
  if (!found?.[1]) throw new Error(`no cluster for Service ${name} in the CDS response`);
  return found[1];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-source-bench-'));
  let trellis: Proc | undefined;
  const fleet: Proxy[] = [];
  try {
    const file = await writeMesh(dir);
    const t0 = performance.now();
    const started = await startTrellis(dir);
    trellis = started.proc;
    log(`Trellis ready on ${services} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (let j = 0; j < proxies; j++) fleet.push(await Proxy.connect(started.xds, j, firstServiceCluster));
    log(`${proxies} proxies hold the first Service's endpoints`);
    const first: number[] = [];
    const last: number[] = [];
    const stages: Stages[] = [];
    for (let v = 1; v <= warmup + edits; v++) {
      await new Promise((r) => setTimeout(r, editGapMs));
      const want = addressAt(v, 0);
      const acked = fleet.map((p) => p.until(want));
      const tmp = join(dir, `.edit-${v}.tmp`);
      await writeFile(tmp, fileYaml(0, v));
      const at = performance.now();
      const renamedAt = Date.now();
      await rename(tmp, file);
      const times = await Promise.all(acked);
      if (v <= warmup) continue;
      first.push(Math.min(...times) - at);
      last.push(Math.max(...times) - at);
      const s = await stagesOf(started.log, renamedAt, renamedAt + (Math.min(...times) - at));
      if (s) stages.push(s);
    }
    report(first, last, stages);
  } finally {
    for (const p of fleet) p.close();
    if (trellis) await terminate(trellis, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(first: number[], last: number[], stages: readonly Stages[]): void {
  const f = (xs: number[], p: number): string => pct(xs, p).toFixed(0);
  const pass = pct(first, 99) <= TARGET_MS;
  console.log(
    `Trellis source bench — ${new Date().toISOString()}, Node ${process.version}, ${cpus()[0]?.model ?? '?'} x ${cpus().length}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB`,
  );
  console.log(
    `${services} manifest files (a Service and an EndpointSlice of ${endpoints} endpoints each), ${proxies} proxies of ${classes} classes, ${edits} edits (${warmup} unmeasured first)`,
  );
  console.log(`| from the rename to | p50 (ms) | p99 (ms) | max (ms) |\n|:--|--:|--:|--:|`);
  console.log(`| the first proxy's ACK | ${f(first, 50)} | ${f(first, 99)} | ${f(first, 100)} |`);
  console.log(`| the last proxy's ACK | ${f(last, 50)} | ${f(last, 99)} | ${f(last, 100)} |`);
  const median = (k: keyof Stages): string =>
    stages.length === 0
      ? '-'
      : pct(
          stages.map((s) => s[k]),
          50,
        ).toFixed(k === 'classes' || k === 'encoded' ? 0 : 1);
  console.log(
    `\nWhere the time to the first ACK goes (median over ${stages.length} edits, from Trellis's rebuild log; ms):\n` +
      `| source (watch, read, parse) | debounce | model | translation | cache (hash, encode) | push → first ACK | classes translated | resources encoded |\n` +
      `|--:|--:|--:|--:|--:|--:|--:|--:|\n` +
      `| ${(['source', 'debounce', 'model', 'translate', 'cache', 'push', 'classes', 'encoded'] as const).map(median).join(' | ')} |`,
  );
  console.log(`first proxy p99 ${f(first, 99)} ms — target within --debounce-min ${DEBOUNCE_MIN_MS} ms + 50 ms: ${pass ? 'met' : 'MISS'}`);
  if (!pass && process.env.TRELLIS_BENCH_STRICT === '1') process.exitCode = 1;
}

const timer = setTimeout(() => {
  log(`global timeout of ${timeoutSeconds} s reached`);
  process.exit(2);
}, timeoutSeconds * 1000);
timer.unref();
main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
