/**
 * `trellis` as a child process (through tsx, as `npm start` runs it): its JSON log lines parsed as
 * they come, its stderr, its exit, and promises of the log line a test waits for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const tsx = createRequire(import.meta.url).resolve('tsx');
const WAIT_MS = 30_000;

export type LogLine = Record<string, unknown> & { level: number; time: string; msg: string };

export class TrellisProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', tsx, 'src/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    createInterface({ input: this.child.stdout ?? process.stdin }).on('line', (text) => this.line(text));
  }

  /** The first log line, already written or to come, that satisfies `test`. */
  until(what: string, test: (l: LogLine) => boolean, timeoutMs = WAIT_MS): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for the log line: ${what}\nstderr: ${this.stderr}\nlog:\n${this.lines.map((l) => l.msg).join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  /** The port of the debug server, once it listens. */
  async debugPort(): Promise<number> {
    const line = await this.until('debug server listening', (l) => l.msg === 'debug server listening');
    return Number(line.port);
  }

  /** The exit code; fails if the process does not end within the deadline. */
  async exit(timeoutMs = WAIT_MS): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Sends `sig` to the process. */
  kill(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM, and its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exit();
  }

  private line(text: string): void {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(text) as LogLine;
    } catch {
      parsed = { level: 0, time: '', msg: text };
    }
    this.lines.push(parsed);
    const ready = this.waiters.filter((w) => w.test(parsed));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(parsed);
  }
}
