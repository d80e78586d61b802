/**
 * Exponential backoff with jitter, bounded, for relists and watch restarts. The attempt count goes
 * back to zero once no backoff has been asked for during a healthy period, so one failure a day
 * waits the initial delay, and a server that keeps failing is retried at most every `maxMs`.
 */

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Quiet time after which the next delay starts again from `initialMs`; default max(2·maxMs, 30 s). */
  readonly resetAfterMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000 };

/** Retry-After is honoured, up to this. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export class Backoff {
  private attempt = 0;
  private last = Number.NEGATIVE_INFINITY;
  private readonly resetAfterMs: number;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.resetAfterMs = opts.resetAfterMs ?? Math.max(2 * opts.maxMs, 30_000);
  }

  /**
   * The delay before the next attempt: half of min(maxMs, initialMs·2^n) plus a random part of the
   * other half ("equal jitter"), and at least what the server asked for with Retry-After.
   */
  next(retryAfterMs?: number): number {
    const now = this.now();
    if (now - this.last >= this.resetAfterMs) this.attempt = 0;
    this.last = now;
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    const delay = ceiling / 2 + (this.random() * ceiling) / 2;
    return Math.round(Math.max(delay, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
  }
}
