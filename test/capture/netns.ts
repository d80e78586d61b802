/** Network namespaces for the capture tests: created and deleted with `ip netns`, commands run inside them. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { text } from 'node:stream/consumers';
import type { CliResult } from '../support/cli.ts';

const tsx = createRequire(import.meta.url).resolve('tsx');

/** Runs a program to its end; a program that cannot be started (not installed) rejects, naming it. */
export async function command(program: string, args: readonly string[]): Promise<CliResult> {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const [stdout, stderr, code] = await Promise.all([
    text(child.stdout),
    text(child.stderr),
    new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`${program}: ${err.message} (the capture tests need iproute2 and iptables, as root)`)));
      child.once('close', (c) => resolve(c ?? -1));
    }),
  ]);
  return { code, stdout, stderr };
}

/** Runs a program and fails with its error output unless it exits 0. */
export async function mustRun(program: string, args: readonly string[]): Promise<string> {
  const r = await command(program, args);
  if (r.code !== 0) throw new Error(`${program} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * A new namespace with its loopback up; `iptables-restore` must exist too, or this fails. True once the
 * namespace exists (delete it then, even when a later step failed).
 */
export async function createNetns(ns: string): Promise<true> {
  await mustRun('iptables-restore', ['--version']);
  await mustRun('ip', ['netns', 'add', ns]);
  try {
    await mustRun('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNetns(ns);
    throw err;
  }
  return true;
}

export async function deleteNetns(ns: string): Promise<void> {
  await mustRun('ip', ['netns', 'delete', ns]);
}

/** `trellis ARGS` from src/cli.ts inside the namespace. */
export function trellisInNetns(ns: string, ...args: string[]): Promise<CliResult> {
  return command('ip', ['netns', 'exec', ns, process.execPath, '--import', tsx, 'src/cli.ts', ...args]);
}
