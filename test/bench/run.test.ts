/**
 * `npm run bench` end to end at a tiny scale: every implementation, both protocols, both phases, as
 * run.ts drives them (server and client processes, the changes one at a time, the cold start). The
 * figures mean nothing at this size; what is checked is that each phase runs to its end, that every
 * change reached every client, and that Trellis pushed each change with one encode. The changes phase
 * once waited until its global timeout, unseen, because nothing ran it (the bench server changed a list
 * it had handed to the cache in place, and the cache pushed nothing); this is the run that says so.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import type { ColdStartSummary, Summary } from './report.ts';

const tsx = createRequire(import.meta.url).resolve('tsx');

const CLIENTS = 3;
const CHANGES = 3;
const IMPLS = ['floor', 'trellis', 'gocp-linear'] as const;

interface BenchResult {
  readonly phases: readonly Summary[];
  readonly coldStart: readonly ColdStartSummary[];
  readonly raw: readonly { impl: string; protocol: string; convergenceMs: readonly number[] }[];
}

describe('npm run bench at a tiny scale', () => {
  it('runs the changes and the cold start of every implementation in both protocols to the end', async () => {
    const args = ['--clients', String(CLIENTS), '--clusters', '4', '--endpoints', '2', '--changes', String(CHANGES), '--warmup', '1'];
    const more = ['--streams-per-channel', '2', '--impls', IMPLS.join(','), '--timeout', '150'];
    const { code, stdout, stderr } = await runCli(['--import', tsx, 'test/bench/run.ts', ...args, ...more], '', { ...process.env, TRELLIS_BENCH_STRICT: '' });
    // A change that never reaches every client ends the run at --timeout with exit 2.
    expect(code, stderr.slice(-2000)).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse((line ?? '').slice('BENCH_RESULT '.length)) as BenchResult;

    const runs = (rows: readonly { impl: string; protocol: string }[]): string[] => rows.map((r) => `${r.impl}/${r.protocol}`).sort();
    const expected = IMPLS.flatMap((impl) => [`${impl}/sotw`, `${impl}/delta`]).sort();
    expect(runs(result.phases)).toEqual(expected);
    expect(runs(result.coldStart)).toEqual(expected);
    for (const r of result.raw) expect(r.convergenceMs, `${r.impl}/${r.protocol}`).toHaveLength(CHANGES);
    for (const row of result.phases) {
      // Every change reached every client: one response each.
      expect(row.responsesPerChange, `${row.impl}/${row.protocol}`).toBe(CLIENTS);
      if (row.impl === 'trellis') expect([row.encodesPerPushMin, row.encodesPerPushMax], row.protocol).toEqual([1, 1]);
    }
    for (const c of result.coldStart) expect(c.totalMs, `${c.impl}/${c.protocol}`).toBeGreaterThan(0);
  }, 200_000);
});
