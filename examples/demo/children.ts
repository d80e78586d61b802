/**
 * The demo's child processes (servers.ts, client.ts): started with tsx, ready once they print
 * `{"ready":true}`, asked by JSON lines with an id and answered the same way. They hold our pipe on
 * their stdin and exit when it closes, so they end with the demo however it ends; stop() also kills
 * them outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

type Json = Record<string, unknown>;
const READY_TIMEOUT_MS = 45_000;

export interface Child {
  readonly name: string;
  readonly pid: number;
  request(cmd: Json): Promise<Json>;
  stop(): void;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (for exit and signal handlers: synchronous). */
export function killChildren(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

export function startChild(name: string, script: string, env: Readonly<Record<string, string>>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const pending = new Map<number, (reply: Json) => void>();
  let stderr = '';
  let nextId = 1;
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  proc.stdin.on('error', () => undefined);
  const lines = createInterface({ input: proc.stdout });
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${name}: ${why}${stderr ? `\n${stderr}` : ''}`));
    };
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      fail(`exited (${signal ?? code ?? '?'})`);
      for (const [, answer] of pending) answer({ ok: false, error: `${name} exited (${signal ?? code ?? '?'})${stderr ? `: ${stderr}` : ''}` });
      pending.clear();
    });
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as Json;
      if (msg.ready === true) {
        clearTimeout(timer);
        resolve(child);
      } else if (typeof msg.id === 'number') {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
    const child: Child = {
      name,
      pid: proc.pid ?? 0,
      request(cmd) {
        const id = nextId++;
        return new Promise<Json>((answer) => {
          pending.set(id, answer);
          proc.stdin.write(JSON.stringify({ ...cmd, id }) + '\n');
        });
      },
      stop() {
        live.delete(proc);
        proc.stdin.end();
        proc.kill('SIGKILL');
      },
    };
  });
}
