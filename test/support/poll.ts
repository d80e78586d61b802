/**
 * Waits for a condition only reachable by asking again: a debug view cached for a second, say.
 * Asks every `intervalMs` until `probe` returns a value `done` accepts, and fails after `timeoutMs`
 * with the last value seen.
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function pollFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await delay(intervalMs);
  }
}
