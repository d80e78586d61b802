/**
 * go-control-plane's peer server for the bench: where the gocp-ads binary is ($TRELLIS_GO_CONTROL_PLANE, by
 * default <repo>/../shared/go-control-plane; see its README), and a process's RSS and CPU time read from
 * outside it, from /proc (the Go process is not Node: nothing in it answers the bench's questions).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The two go-control-plane caches gocp-ads serves from (its `--cache`). */
export type GocpCache = 'linear' | 'snapshot';

/** The gocp-ads executable; a clear one-line error when it is missing. */
export function gocpBinary(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TRELLIS_GO_CONTROL_PLANE ?? resolve(here, '../../../shared/go-control-plane');
  const bin = join(dir, 'gocp-ads');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `go-control-plane: no executable ${bin}. Set TRELLIS_GO_CONTROL_PLANE to the directory holding gocp-ads (shared/go-control-plane beside the repo), or leave gocp-* out of --impls.`,
    );
  }
  return bin;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on Linux whatever the kernel's HZ. */
const USER_HZ = 100;

/** User + system CPU seconds of every thread of `pid` so far (10 ms resolution). */
export function processCpuSeconds(pid: number): number {
  const f = statFields(pid);
  // utime and stime are fields 14 and 15 of the stat line.
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`/proc/${pid}/stat: no utime/stime`);
  return (utime + stime) / USER_HZ;
}

/** Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function processRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`/proc/${pid}/status: no VmRSS line`);
  return Number(m[1]) * 1024;
}
