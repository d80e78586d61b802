/**
 * A pino destination for tests: every line parsed, and a promise of the moment the lines satisfy a
 * test (`logger = pino(options, { write: logs.write })`).
 */
const WAIT_MS = 20_000;

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** What a logger wrote, parsed, and a promise of the moment a test holds of it. */
export class Logs {
  readonly lines: LogLine[] = [];
  private waiters: { test: (lines: readonly LogLine[]) => boolean; resolve: () => void }[] = [];

  readonly write = (text: string): void => {
    this.lines.push(JSON.parse(text) as LogLine);
    const ready = this.waiters.filter((w) => w.test(this.lines));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  };

  until(what: string, test: (lines: readonly LogLine[]) => boolean, timeoutMs = WAIT_MS): Promise<void> {
    if (test(this.lines)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for logs: ${what}`)), timeoutMs);
      this.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Lines at this pino level (40 warn, 30 info, 20 debug) whose message matches. */
  count(level: number, msg: RegExp): number {
    return this.lines.filter((l) => l.level === level && msg.test(l.msg)).length;
  }
}
