/**
 * The child processes of the xDS test harness (test/support/xds-app.ts): spawning
 * test/support/xds-app-child.ts under tsx, its JSON-lines protocol (commands with ids, replies,
 * events), its stderr tail for diagnostics, and making sure no child outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const CHILD_SCRIPT = join(here, 'xds-app-child.ts');

const verbose = process.env.TRELLIS_TEST_VERBOSE === '1';
const STDERR_TAIL_LINES = 50;
const STARTUP_TIMEOUT_MS = 30_000;
const CLOSE_KILL_AFTER_MS = 3_000;

export type Json = Record<string, unknown>;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Belt and braces: the children also exit when their stdin closes.
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

function tsxImport(): string {
  // `node --import tsx` resolves `tsx` from the cwd; resolve it from here instead so any cwd works.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** A running child speaking the JSON-lines protocol of xds-app-child.ts. */
export class ChildConnection {
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private readonly pending = new Map<number, { resolve: (m: Json) => void; reject: (e: Error) => void }>();
  private readonly eventListeners = new Set<(m: Json) => void>();
  private nextId = 1;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  readonly ready: Promise<Json>;

  constructor(
    readonly label: string,
    env: Record<string, string>,
  ) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.GRPC_XDS_BOOTSTRAP; // it would take precedence over GRPC_XDS_BOOTSTRAP_CONFIG
    this.child = spawn(process.execPath, ['--import', tsxImport(), CHILD_SCRIPT], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(this.child);
    this.exited = new Promise<void>((res) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        const err = new Error(`${this.label}: child exited (${this.describeExit()})${this.tailText()}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        res();
      });
    });
    // Writing to a child that died raises EPIPE on stdin; the exit handler reports it.
    this.child.stdin?.on('error', () => undefined);

    createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      if (verbose) process.stderr.write(`[${this.label}] ${line}\n`);
    });

    let onReady!: (m: Json) => void;
    this.ready = new Promise<Json>((res, rej) => {
      const timer = setTimeout(() => {
        rej(new Error(`${this.label}: not ready after ${STARTUP_TIMEOUT_MS} ms${this.tailText()}`));
      }, STARTUP_TIMEOUT_MS);
      onReady = (m) => {
        clearTimeout(timer);
        res(m);
      };
      void this.exited.then(() => {
        clearTimeout(timer);
        rej(new Error(`${this.label}: child exited before it was ready (${this.describeExit()})${this.tailText()}`));
      });
    });
    this.ready.catch(() => undefined);

    createInterface({ input: this.child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      let msg: Json;
      try {
        msg = JSON.parse(line) as Json;
      } catch {
        // not ours (something printed to stdout): keep it with the stderr tail for diagnostics
        this.stderrTail.push(`(stdout) ${line}`);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        if (verbose) process.stderr.write(`[${this.label} stdout] ${line}\n`);
        return;
      }
      if (msg.ready === true) {
        onReady(msg);
      } else if (typeof msg.id === 'number') {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg);
      } else if (typeof msg.event === 'string') {
        for (const l of this.eventListeners) l(msg);
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  private describeExit(): string {
    const e = this.exitInfo;
    return e ? (e.signal ? `signal ${e.signal}` : `code ${String(e.code)}`) : 'running';
  }

  private tailText(): string {
    return this.stderrTail.length ? `\n--- last ${this.stderrTail.length} lines of stderr ---\n${this.stderrTail.join('\n')}` : '';
  }

  /** Send a command; resolves with the child's reply line. */
  request(cmd: Json): Promise<Json> {
    if (this.exitInfo) return Promise.reject(new Error(`${this.label}: child has exited (${this.describeExit()})${this.tailText()}`));
    const id = this.nextId++;
    return new Promise<Json>((res, rej) => {
      this.pending.set(id, { resolve: res, reject: rej });
      this.child.stdin!.write(JSON.stringify({ ...cmd, id }) + '\n');
    });
  }

  onEvent(listener: (m: Json) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Ask the child to close and exit; SIGKILL it after 3 s; resolves once it has exited. */
  async close(): Promise<void> {
    if (!this.exitInfo) {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_KILL_AFTER_MS);
      this.request({ op: 'close' }).catch(() => undefined);
      this.child.stdin!.end();
      await this.exited;
      clearTimeout(kill);
    }
  }

  /** Kill without asking (for tests of control-plane behaviour when a client vanishes). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.exitInfo) this.child.kill(signal);
    await this.exited;
  }
}

export async function startChild(label: string, env: Record<string, string>): Promise<{ conn: ChildConnection; ready: Json }> {
  const conn = new ChildConnection(label, env);
  try {
    return { conn, ready: await conn.ready };
  } catch (err) {
    await conn.kill();
    throw err;
  }
}
