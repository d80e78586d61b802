/**
 * What Linux's /proc says of a process, for tests and benches that measure or wait on processes they
 * did not start in Node (the API server, cert-manager, go-control-plane) or that must not be asked.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime, stime and /proc/stat: USER_HZ, 100 on Linux whatever the kernel's HZ. */
export const USER_HZ = 100;

export interface ProcStat {
  /** The command name (which may hold spaces and parentheses). */
  readonly comm: string;
  /** R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  readonly ppid: number;
  /** utime + stime of every thread so far, in seconds (10 ms resolution). */
  readonly cpuSeconds: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone (or there is no /proc). */
export function procStat(pid: number | string): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(')');
  // After the name: state(0) ppid(1) ... utime(11) stime(12), fields 3, 4, 14 and 15 of the line.
  const f = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), state: f[0] ?? '', ppid: Number(f[1]), cpuSeconds: (Number(f[11]) + Number(f[12])) / USER_HZ };
}

/** CPU seconds of a live process (throws when it is gone). */
export function cpuSeconds(pid: number): number {
  const s = procStat(pid);
  if (!s || !Number.isFinite(s.cpuSeconds)) throw new Error(`/proc/${pid}/stat: no such process, or no utime/stime`);
  return s.cpuSeconds;
}

/** A /proc/<pid>/status figure in bytes (VmRSS: resident now; VmHWM: the peak). */
export function procBytes(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`/proc/${pid}/status: no ${key} line`);
  return Number(m[1]) * 1024;
}
