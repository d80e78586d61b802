/**
 * The child side of a bench child process (children.ts `Child` is the parent's): events sent over the IPC
 * channel, commands received in order. A child whose parent is gone exits.
 */

/** Sends one event; resolves once it is handed to the channel. Exits (3) when the parent is gone. */
export function sendEvent(msg: object): Promise<void> {
  if (!process.send || !process.connected) process.exit(3);
  const sendOne = process.send.bind(process);
  return new Promise((resolve) => sendOne(msg, undefined, {}, () => resolve()));
}

/** Commands in the order they arrive: `next(expected)` takes the next one and fails if it is another. */
export class Commands<C extends { cmd: string }> {
  private readonly queue: C[] = [];
  private waiting: ((c: C) => void) | undefined;

  constructor(file: string) {
    if (!process.send) throw new Error(`${file} is started by a bench (no IPC channel)`);
    process.on('disconnect', () => process.exit(4));
    process.on('message', (m: unknown) => {
      const c = m as C;
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(c);
      else this.queue.push(c);
    });
  }

  async next(expected: C['cmd']): Promise<C> {
    const c = await this.any();
    if (c.cmd !== expected) throw new Error(`expected command '${expected}', got '${c.cmd}'`);
    return c;
  }

  /** The next command, whichever it is. */
  async any(): Promise<C> {
    return this.queue.shift() ?? (await new Promise<C>((resolve) => (this.waiting = resolve)));
  }
}

/** CPU seconds (user + system) of this process since `c`. */
export function cpuSince(c: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
}
