/**
 * Memory of a bench server after full garbage collections (the process runs with --expose-gc).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemoryReport } from './config.ts';

export async function memoryReport(streams: number): Promise<MemoryReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the server with --expose-gc');
  // Let pending writes and finalizers settle, then collect twice (weak maps, then what they held).
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, streams };
}

/** Every garbage-collection pause of this process, on the shared clock (ms). */
const pauses: [number, number][] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push([performance.timeOrigin + e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });

export async function gcLog(): Promise<readonly (readonly [number, number])[]> {
  // Entries are delivered after the fact: let the observer catch up.
  await sleep(50);
  return pauses;
}
