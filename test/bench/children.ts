/**
 * The orchestrator's side of the bench processes: forking them (TypeScript through tsx, with
 * --expose-gc), waiting for their IPC events in order against one global deadline, and killing
 * whatever is left when the bench ends, times out or is interrupted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = import.meta.resolve('tsx');
const children = new Set<ChildProcess>();
let deadline = Number.POSITIVE_INFINITY;

export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Waits on children's events end at `at` (epoch ms); guard() sets it too. */
export function setDeadline(at: number): void {
  deadline = at;
}

/** After `seconds`, kill every child and exit 2; on SIGINT/SIGTERM, kill them and exit 130. Returns the timer. */
export function guard(seconds: number): NodeJS.Timeout {
  setDeadline(Date.now() + seconds * 1000);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  return setTimeout(() => {
    process.stderr.write(`bench: global timeout of ${seconds} s reached; killing the children\n`);
    killAll();
    process.exit(2);
  }, seconds * 1000);
}

export type Named<E, K> = Extract<E, { ev: K }>;

/** A child process and the events it sent, waited on in order. An 'error' event or an exit fails every wait. */
export class Child<Cmd, Ev extends { ev: string }> {
  readonly proc: ChildProcess;
  private readonly queue: Ev[] = [];
  private waiter: { ev: string; resolve: (e: Ev) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  readonly exited: Promise<void>;

  /** `file` in test/bench/, run through tsx with `nodeArgs`, its environment this process's and `env`. */
  constructor(
    readonly label: string,
    file: string,
    env: Readonly<Record<string, string>> = {},
    nodeArgs: readonly string[] = ['--expose-gc'],
  ) {
    this.proc = fork(join(here, file), [], {
      execArgv: ['--import', tsx, ...nodeArgs],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Structured clone rather than JSON: a figure a server cannot measure travels as NaN, not as null.
      serialization: 'advanced',
    });
    children.add(this.proc);
    this.proc.on('message', (m: unknown) => this.onEvent(m as Ev));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        children.delete(this.proc);
        this.fail(new Error(`${label} exited (code ${String(code)}, signal ${String(signal)})`));
        resolve();
      });
    });
  }

  private onEvent(e: Ev): void {
    if (e.ev === 'error') {
      this.fail(new Error(`${this.label}: ${(e as unknown as { message: string }).message}`));
      return;
    }
    const w = this.waiter;
    if (w && w.ev === e.ev) {
      this.waiter = undefined;
      w.resolve(e);
    } else this.queue.push(e);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  send(cmd: Cmd): void {
    this.proc.send(cmd as object);
  }

  /** The next event of that name (events are expected in order). */
  next<K extends Ev['ev']>(ev: K): Promise<Named<Ev, K>> {
    const i = this.queue.findIndex((e) => e.ev === ev);
    if (i >= 0) {
      const [e] = this.queue.splice(i, 1);
      return Promise.resolve(e as Named<Ev, K>);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      // No deadline set (a test bounds the wait itself): no timer; setTimeout would take Infinity for 1 ms.
      const timer = Number.isFinite(deadline)
        ? setTimeout(() => reject(new Error(`${this.label}: no '${ev}' before the deadline`)), Math.max(0, deadline - Date.now()))
        : undefined;
      this.waiter = {
        ev,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Named<Ev, K>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Asks the child to exit (or, without a command, waits for it to) and kills it if it has not after 5 s. */
  async stop(cmd?: Cmd): Promise<void> {
    if (cmd && this.proc.exitCode === null && this.proc.connected) this.send(cmd);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
