/**
 * What the envtest benches (certs.ts, sds.ts) share around their runs: positive-integer and log-level
 * options, a global deadline that kills the children, the API server and cert-manager and exits 2, a
 * working directory removed on exit, a log prefix, and waiting for a quiet machine before a round.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { settle } from './certs-report.ts';
import { killAll, setDeadline } from './children.ts';

/** The options both envtest benches take (parseArgs), each documented at the top of the bench. */
const ENVTEST_BENCH_OPTIONS = {
  identities: { type: 'string' },
  rounds: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  'log-level': { type: 'string' },
  profile: { type: 'boolean' },
  'cert-manager-qps': { type: 'string' },
} as const;

/** `--name` as a positive integer, `dflt` when absent. */
export function positiveInt(raw: string | undefined, name: string, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${raw}`);
  return n;
}

/** `--log-level` as pino knows it. */
export function logLevelOption(raw: string | undefined): string {
  const level = raw ?? 'warn';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) throw new Error(`--log-level: not a level: ${level}`);
  return level;
}

export interface Harness {
  readonly deadline: number;
  readonly log: (msg: string) => void;
  /** A fresh working directory, removed on exit. */
  workDir(): Promise<string>;
  /** settle(), saying so when the machine stayed busy with other processes. */
  settled(round: number): Promise<void>;
  /** Exits with `code`, the global timer cleared. */
  exit(code: number): never;
}

export function startHarness(name: string, timeoutSeconds: number): Harness {
  const deadline = Date.now() + timeoutSeconds * 1000;
  setDeadline(deadline);
  const dirs: string[] = [];
  // Synchronous, for 'exit': the envtest and cert-manager modules kill their processes in their own 'exit' hooks.
  process.on('exit', () => {
    killAll();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: global timeout of ${timeoutSeconds} s reached; killing the children, the API server and cert-manager\n`);
    process.exit(2);
  }, timeoutSeconds * 1000);
  const log = (msg: string): void => void process.stderr.write(`${name}: ${msg}\n`);
  return {
    deadline,
    log,
    async workDir() {
      const d = await mkdtemp(join(tmpdir(), `trellis-${name}-`));
      dirs.push(d);
      return d;
    },
    async settled(round) {
      const cores = await settle();
      if (cores >= 0.5) log(`round ${round}: the machine stays busy (${cores.toFixed(2)} cores) with other processes; measuring anyway`);
    },
    exit(code) {
      clearTimeout(timer);
      process.exit(code);
    },
  };
}

/** What both envtest benches are told on the command line, and their harness. */
export interface EnvtestBench {
  readonly identities: number;
  readonly rounds: number;
  readonly concurrency: number;
  readonly timeoutSeconds: number;
  /** 0: cert-manager's controller as started (client-go's QPS 20, burst 50). */
  readonly certManagerQps: number;
  readonly logLevel: string;
  readonly profile: boolean;
  /** A further option of the bench's own (`extra`), as a positive integer. */
  readonly int: (name: string, dflt: number) => number;
  readonly harness: Harness;
}

/** Parses the command line (the shared options and the bench's `extra` string options) and starts the harness. */
export function envtestBench(name: string, defaults: { concurrency: number }, extra: readonly string[] = []): EnvtestBench {
  const { values } = parseArgs({
    options: { ...ENVTEST_BENCH_OPTIONS, ...Object.fromEntries(extra.map((o) => [o, { type: 'string' as const }])) },
    strict: true,
  });
  const raw = values as Readonly<Record<string, string | boolean | undefined>>;
  const int = (option: string, dflt: number): number => positiveInt(raw[option] as string | undefined, option, dflt);
  const timeoutSeconds = int('timeout', 1200);
  return {
    identities: int('identities', 200),
    rounds: int('rounds', 3),
    concurrency: int('concurrency', defaults.concurrency),
    timeoutSeconds,
    certManagerQps: int('cert-manager-qps', 0),
    logLevel: logLevelOption(raw['log-level'] as string | undefined),
    profile: raw.profile === true,
    int,
    harness: startHarness(name, timeoutSeconds),
  };
}
