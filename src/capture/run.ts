/**
 * `trellis capture`: restores the capture ruleset with `iptables-restore` (its standard input), or with
 * `--dry-run` prints it. A failure is one line on standard error naming what failed.
 */
import { spawn } from 'node:child_process';
import { text } from 'node:stream/consumers';
import { captureRuleset, type CaptureOptions } from './ruleset.js';

export interface CaptureRun extends CaptureOptions {
  readonly dryRun: boolean;
}

export interface CaptureIO {
  out(text: string): void;
  err(text: string): void;
}

/** The program that applies the ruleset. */
export const RESTORE_COMMAND = 'iptables-restore';

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs `command` with `input` on its standard input; rejects when it cannot be started (ENOENT). */
async function runWithInput(command: string, input: string): Promise<Outcome> {
  const child = spawn(command, [], { stdio: ['pipe', 'ignore', 'pipe'] });
  const exited = new Promise<Pick<Outcome, 'code' | 'signal'>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A program that exits without reading its input breaks the pipe: its exit status says why.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const [stderr, status] = await Promise.all([text(child.stderr), exited]);
  return { ...status, stderr };
}

function oneLine(s: string): string {
  return s
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** 0 when the ruleset was restored (or printed), 1 with one line on `io.err` when the restore failed. */
export async function runCapture(config: CaptureRun, io: CaptureIO, command = RESTORE_COMMAND): Promise<number> {
  const ruleset = captureRuleset(config);
  if (config.dryRun) {
    io.out(ruleset);
    return 0;
  }
  let outcome: Outcome;
  try {
    outcome = await runWithInput(command, ruleset);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found on PATH (install the iptables package)' : (err as Error).message;
    io.err(`trellis capture: ${command} ${why}\n`);
    return 1;
  }
  if (outcome.code === 0) return 0;
  const status = outcome.code === null ? `killed by ${outcome.signal ?? 'a signal'}` : `exit ${outcome.code}`;
  io.err(`trellis capture: ${command} failed (${status}): ${oneLine(outcome.stderr) || 'no error output'}\n`);
  return 1;
}
