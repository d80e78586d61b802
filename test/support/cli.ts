/** Runs the trellis command line as a process (from src/ under tsx, or a built file), as people and scripts do. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { text } from 'node:stream/consumers';

const tsx = createRequire(import.meta.url).resolve('tsx');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `trellis ARGS` from src/cli.ts, with nothing on its standard input. */
export function trellis(...args: string[]): Promise<CliResult> {
  return runCli(['--import', tsx, 'src/cli.ts', ...args]);
}

/** `node ARGV` (a script and its arguments), with `stdin` as its standard input, in `env` (default: this process's). */
export async function runCli(argv: string[], stdin = '', env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  child.stdin.end(stdin);
  const [stdout, stderr, code] = await Promise.all([
    text(child.stdout),
    text(child.stderr),
    new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c ?? -1));
    }),
  ]);
  return { code, stdout, stderr };
}

/** `trellis ARGS` from src/cli.ts, reading `stdin`. */
export function trellisWithInput(stdin: string, ...args: string[]): Promise<CliResult> {
  return runCli(['--import', tsx, 'src/cli.ts', ...args], stdin);
}

/** `trellis ARGS` from src/cli.ts with exactly the environment `env` (node itself is run by its absolute path). */
export function trellisWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return runCli(['--import', tsx, 'src/cli.ts', ...args], '', env);
}
