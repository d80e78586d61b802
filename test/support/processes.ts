/**
 * Child processes for test support (envtest's etcd and kube-apiserver, cert-manager's controller and
 * webhook): spawned so that they die with this process, their output kept as a tail for error messages,
 * stopped with a grace period, and polled until ready.
 *
 * Children are killed if this process dies: spawned through `setpriv --pdeathsig KILL` when present
 * (covers SIGKILL/SIGTERM of the test worker), and killed in a process 'exit' handler too, which also
 * removes the directories given to trackDir. TRELLIS_TEST_VERBOSE=1 echoes their output to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { procStat } from './proc.ts';

const verbose = process.env.TRELLIS_TEST_VERBOSE === '1';
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const LOG_LINES = 300;
const SETPRIV = '/usr/bin/setpriv';

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

/** Synchronous (for 'exit' and signal handlers): SIGKILL, wait until the kernel has them dead (/proc), remove the dirs. */
function killAllNow(): void {
  const children = [...liveChildren];
  for (const c of children) c.kill('SIGKILL');
  const deadline = Date.now() + 2_000;
  // Gone (or no /proc), a zombie or dead.
  const dead = (pid: number | undefined) => pid === undefined || /^[ZX]?$/.test(procStat(pid)?.state ?? '');
  for (const c of children) while (!dead(c.pid) && Date.now() < deadline);
  for (const d of liveDirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort while exiting
    }
  }
}

/**
 * 'exit' covers a normal end; vitest ends its fork workers with SIGTERM, which skips 'exit': clean up,
 * then die of the signal as before (unless someone else handles it). setpriv's pdeathsig covers SIGKILL.
 */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, function onSignal() {
      killAllNow();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Removed (recursively) if this process exits before untrackDir. */
export function trackDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

export function untrackDir(dir: string): void {
  liveDirs.delete(dir);
}

/** The last LOG_LINES lines of a component's processes' stdout and stderr; `owner` prefixes its error messages. */
export class LogTail {
  private readonly lines: string[] = [];
  constructor(readonly owner: string) {}
  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.shift();
    if (verbose) process.stderr.write(`${line}\n`);
  }
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }
}

export interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly done: () => boolean;
}

export function launch(name: string, bin: string, args: readonly string[], log: LogTail, env: NodeJS.ProcessEnv = process.env): Proc {
  installExitHook();
  const [cmd, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, [...args]];
  const child = spawn(cmd, argv, { detached: false, env, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let finished = false;
  for (const s of [child.stdout, child.stderr]) createInterface({ input: s }).on('line', (l) => log.add(`[${name}] ${l}`));
  const exited = new Promise<void>((res) => {
    const end = (why: string) => {
      finished = true;
      liveChildren.delete(child);
      log.add(`[${name}] ${why}`);
      res();
    };
    child.once('exit', (code, signal) => end(`exited (code ${code}, signal ${signal})`));
    child.once('error', (e) => end(`failed to start: ${e.message}`));
  });
  return { child, exited, done: () => finished };
}

/** SIGTERM, then SIGKILL after graceMs (kube-apiserver stops listening at once but waits for open watches to drain). */
export async function terminate(p: Proc, graceMs: number): Promise<void> {
  if (p.done()) return;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), graceMs)));
  if ((await Promise.race([p.exited, late])) === 'late') p.child.kill('SIGKILL');
  clearTimeout(timer);
  await p.exited;
}

/**
 * Polls `probe` until it is true: none of these binaries announces readiness any other way, so polling a
 * health endpoint with a short interval and an overall timeout is the accepted exception to "no sleeps".
 */
export async function pollUntil(
  what: string,
  proc: Proc | undefined,
  log: LogTail,
  probe: () => Promise<boolean>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc?.done()) throw new Error(`${log.owner}: ${what}: the process exited\n${log.tail()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${log.owner}: ${what}: not within ${timeoutMs} ms\n${log.tail()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Runs `start` (which launches on freshly picked ports) up to three times while a picked port was taken in the meantime. */
export async function retryOnPortClash<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('address already in use')) throw e;
    }
  }
}

/** A probe for pollUntil: GET `url` (plain HTTP) answers 200. */
export async function httpOk(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await r.body?.cancel();
  return r.status === 200;
}
