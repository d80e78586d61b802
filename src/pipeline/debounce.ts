/**
 * Push scheduling: changes are folded together until the sources have been quiet for `minMs`, but
 * never held for longer than `maxMs` after the first of them.
 */
export interface DebounceOptions {
  /** Quiet time after the last change before building (ms). */
  readonly minMs: number;
  /** Longest a change may wait, however busy the sources are (ms). */
  readonly maxMs: number;
}

export interface DebounceWindow {
  /** From the first change to the build, in seconds. */
  readonly waitedSeconds: number;
  /** How many changes the window folded together. */
  readonly changes: number;
}

export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private changes = 0;

  constructor(
    private readonly opts: DebounceOptions,
    private readonly run: (window: DebounceWindow) => void,
  ) {
    if (opts.minMs < 0 || opts.maxMs < opts.minMs) {
      throw new Error(`debounce: need 0 <= min (${opts.minMs}) <= max (${opts.maxMs})`);
    }
  }

  /** Notes a change; the build runs once the window closes. */
  trigger(): void {
    const now = performance.now();
    if (this.changes === 0) this.firstAt = now;
    this.changes++;
    if (this.timer) clearTimeout(this.timer);
    const deadline = this.firstAt + this.opts.maxMs;
    const delay = Math.max(0, Math.min(this.opts.minMs, deadline - now));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  /** Runs a pending build now (e.g. at shutdown or in `render`). */
  flush(): void {
    if (this.changes > 0) this.fire();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.changes = 0;
  }

  private fire(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const window = { waitedSeconds: (performance.now() - this.firstAt) / 1000, changes: this.changes };
    this.changes = 0;
    this.run(window);
  }
}
