/**
 * What the churn bench (churn.ts) and its soak mode (soak.ts) share: the real `trellis serve` spawned on a
 * manifests directory with --expose-gc and the bench's hooks, its /proc and /metrics readings, the
 * stayer, the edits by rename, and the cleanup that kills Trellis whatever happens.
 *
 * The hooks, the bench's only additions to the child (a data: URL module imported before src/cli.ts):
 * - SIGUSR2: three full GCs, then process.memoryUsage() as one stderr line;
 * - SIGUSR1, only when the bench asks for heap snapshots (CHURN_BENCH_HEAP_SNAPSHOTS=<dir> in the child's
 *   environment): three full GCs, then v8.writeHeapSnapshot() to <dir>/trellis-<n>.heapsnapshot and its
 *   path as one stderr line. (SIGUSR1 would otherwise start Node's inspector; nothing listens for it then.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SotwClient } from '../support/ads-client.ts';
import { pollFor } from '../support/poll.ts';
import { cpuSeconds } from '../support/proc.ts';
import { releasedLoopbackPort } from '../support/ports.ts';
import { CDS } from './config.ts';
import { namespaceName, namespacesYaml, serviceGroup, type ScaleParams, type ServiceGroup } from './kube-objects.ts';

/** How long one proxy may wait for a response (a push after an edit, a churned proxy's first clusters). */
export const RESPONSE_MS = 30_000;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');

// ---- cleanup and the global timeout ----

let child: ChildProcess | undefined;
const dirs = new Set<string>();

/** Removes `dir` (recursively) when the bench exits, however it exits. */
export function removeAtExit(dir: string): void {
  dirs.add(dir);
}

function cleanup(): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  dirs.clear();
}

/** Kills Trellis at exit, exits 130 on SIGINT/SIGTERM and 2 after `seconds`. Returns the timer. */
export function guardBench(name: string, seconds: number): NodeJS.Timeout {
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
  return setTimeout(() => {
    process.stderr.write(`${name}: global timeout of ${seconds} s reached; killing Trellis\n`);
    process.exit(2);
  }, seconds * 1000);
}

/** The end of a successful run: Trellis killed without the "exited" report. */
export function stopTrellis(): void {
  const c = child;
  child = undefined;
  c?.removeAllListeners('exit');
  c?.kill('SIGKILL');
}

// ---- the child ----

const GC_MARK = 'churn-bench-gc ';
const SNAPSHOT_MARK = 'churn-bench-heap ';
const SNAPSHOT_ENV = 'CHURN_BENCH_HEAP_SNAPSHOTS';
const GC_HOOK = `process.on('SIGUSR2',()=>{for(let i=0;i<3;i++)globalThis.gc();process.stderr.write('${GC_MARK}'+JSON.stringify(process.memoryUsage())+'\\n')})`;
const SNAPSHOT_HOOK =
  `import{writeHeapSnapshot}from'node:v8';import{join}from'node:path';const d=process.env.${SNAPSHOT_ENV};let n=0;` +
  `if(d)process.on('SIGUSR1',()=>{for(let i=0;i<3;i++)globalThis.gc();n+=1;` +
  `const p=writeHeapSnapshot(join(d,'trellis-'+n+'.heapsnapshot'));process.stderr.write('${SNAPSHOT_MARK}'+p+'\\n')})`;
const dataUrl = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;

export interface TrellisOptions {
  readonly bench: string;
  readonly classGraceMs: number;
  readonly logLevel: string;
  readonly malloc: 'tuned' | 'default';
  /** A directory for heap snapshots: turns the SIGUSR1 hook on. */
  readonly snapshotDir?: string;
}

/** One running `trellis serve` (the only one: its exit ends the bench with its last output). */
export class Trellis {
  private output = '';
  private readonly gcWaiters: ((m: NodeJS.MemoryUsage) => void)[] = [];
  private readonly snapshotWaiters: ((path: string) => void)[] = [];

  private constructor(
    readonly c: ChildProcess,
    readonly pid: number,
    readonly xds: string,
    readonly debug: string,
  ) {}

  static async start(manifests: string, opts: TrellisOptions): Promise<Trellis> {
    const [xdsPort, debugPort] = [await releasedLoopbackPort(), await releasedLoopbackPort()];
    const args = ['--expose-gc', '--import', dataUrl(GC_HOOK), '--import', dataUrl(SNAPSHOT_HOOK), '--import', tsx, 'src/cli.ts', 'serve'];
    args.push('--manifests', manifests, '--xds-address', `127.0.0.1:${xdsPort}`, '--debug-address', `127.0.0.1:${debugPort}`);
    args.push('--class-grace', String(opts.classGraceMs), '--log-level', opts.logLevel);
    const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.malloc === 'tuned' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {}) };
    delete env[SNAPSHOT_ENV];
    if (opts.snapshotDir) env[SNAPSHOT_ENV] = opts.snapshotDir;
    const c = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    if (c.pid === undefined) throw new Error('Trellis did not start');
    const t = new Trellis(c, c.pid, `127.0.0.1:${xdsPort}`, `http://127.0.0.1:${debugPort}`);
    t.listen(opts.bench);
    const t0 = performance.now();
    const readyz = async (): Promise<number> => (await fetch(`${t.debug}/readyz`).catch(() => undefined))?.status ?? 0;
    await pollFor('Trellis ready (/readyz 200)', readyz, (s) => s === 200, 120_000, 100);
    process.stderr.write(`${opts.bench}: Trellis (pid ${t.pid}) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return t;
  }

  private listen(bench: string): void {
    const keep = (line: string): void => void (this.output = `${this.output}${line}\n`.slice(-20_000));
    createInterface({ input: this.c.stdout as NodeJS.ReadableStream }).on('line', keep);
    createInterface({ input: this.c.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith(GC_MARK)) this.gcWaiters.shift()?.(JSON.parse(line.slice(GC_MARK.length)) as NodeJS.MemoryUsage);
      else if (line.startsWith(SNAPSHOT_MARK)) this.snapshotWaiters.shift()?.(line.slice(SNAPSHOT_MARK.length));
      else keep(line);
    });
    this.c.on('exit', (code, signal) => {
      if (child === this.c) child = undefined;
      process.stderr.write(`${bench}: Trellis exited (code ${String(code)}, signal ${String(signal)}); its last output:\n${this.output}\n`);
      process.exit(1);
    });
  }

  /** The child's memory after full GCs (through its SIGUSR2 hook). */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
    return this.signalled('SIGUSR2', this.gcWaiters, 30_000, 'memory reading');
  }

  /** A heap snapshot after full GCs (SIGUSR1 hook; Trellis started with a snapshotDir): its path. */
  heapSnapshot(): Promise<string> {
    return this.signalled('SIGUSR1', this.snapshotWaiters, 300_000, 'heap snapshot');
  }

  private signalled<T>(signal: NodeJS.Signals, waiters: ((v: T) => void)[], ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} from Trellis within ${ms / 1000} s`)), ms);
      waiters.push((v) => (clearTimeout(timer), resolve(v)));
      this.c.kill(signal);
    });
  }

  /** utime + stime of the whole process (every thread), in ms. */
  cpuMs(): number {
    return cpuSeconds(this.pid) * 1000;
  }

  /** Resets VmHWM to the current RSS (Linux 4.0+): the next reading is the peak from now on. */
  resetPeak(): void {
    writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
  }

  /** The proxy classes /metrics reports (a view Trellis caches for a second). */
  async classesHeld(): Promise<number> {
    const text = await (await fetch(`${this.debug}/metrics`)).text();
    const m = /^trellis_cache_proxy_classes (\d+)$/m.exec(text);
    if (!m) throw new Error('/metrics has no trellis_cache_proxy_classes');
    return Number(m[1]);
  }

  /** Waits until /metrics reports `n` classes; its time in ms. */
  async classesBackTo(n: number, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    await pollFor(
      `the classes released (/metrics: ${n} class)`,
      () => this.classesHeld(),
      (k) => k === n,
      timeoutMs,
      250,
    );
    return performance.now() - t0;
  }
}

// ---- the mesh, and edits ----

export type FileYaml = (g: ServiceGroup) => string;

export async function writeManifests(dir: string, params: ScaleParams, fileYaml: FileYaml): Promise<void> {
  for (let n = 0; n < params.namespaces; n++) mkdirSync(join(dir, namespaceName(n)), { recursive: true });
  await writeFile(join(dir, 'namespaces.yaml'), namespacesYaml(params));
  for (let i = 0; i < params.services; i++) {
    const g = serviceGroup(i, params);
    await writeFile(join(dir, g.namespace, `${g.name}.yaml`), fileYaml(g));
  }
}

/** The group with its Service on another port (a new cluster name, so a new CDS version). */
export function withPort(g: ServiceGroup, port: number): ServiceGroup {
  const spec = g.service.spec as { ports: Record<string, unknown>[] };
  return { ...g, service: { ...g.service, spec: { ...spec, ports: spec.ports.map((p) => ({ ...p, port })) } } };
}

/** Rewrites a Service's file by rename: the manifests source takes a rename at once. */
export async function replaceFile(dir: string, g: ServiceGroup, text: string): Promise<void> {
  const file = join(dir, g.namespace, `${g.name}.yaml`);
  const tmp = join(dir, g.namespace, `.${g.name}.yaml.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** The sidecar of the first Service's first Pod: subscribes to CDS and ACKs what it receives. */
export class Stayer {
  private version = '';
  private constructor(private readonly client: SotwClient) {}

  static async connect(xds: string, params: ScaleParams): Promise<Stayer> {
    const first = serviceGroup(0, params);
    const s = new Stayer(await SotwClient.connect(xds, { node: { id: `${first.pods[0]?.name ?? 'stayer'}.${first.namespace}` } }));
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

// ---- figures ----

export const MiB = 1024 * 1024;
export const mb = (b: number): string => (b / MiB).toFixed(0);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** A markdown table, the first column left-aligned and the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}
