/**
 * CPU profiling of a bench server over the measured changes only (node:inspector, in process),
 * and a summary of a .cpuprofile: where the samples fall, by function (self and inclusive) and by file.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

let session: Session | undefined;

export async function startProfile(): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
}

export async function stopProfile(path: string): Promise<void> {
  if (!session) throw new Error('profiling was not started');
  const { profile } = await session.post('Profiler.stop');
  await writeFile(path, JSON.stringify(profile));
  session.disconnect();
  session = undefined;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  readonly what: string;
  readonly selfPct: number;
  readonly totalPct: number;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const i = url.indexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const j = url.indexOf('/src/');
  if (j >= 0) return url.slice(j + 1);
  const k = url.indexOf('/test/');
  if (k >= 0) return url.slice(k + 1);
  return url.replace(/^node:/, 'node:');
}

/** Top functions by inclusive and self time, and the share of each file, over the non-idle samples. */
export function summarizeProfile(path: string, top = 25): { byTotal: ProfileLine[]; bySelf: ProfileLine[]; files: ProfileLine[]; busyMs: number } {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const fnKey = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const fileKey = (n: ProfileNode): string => shortUrl(n.callFrame.url);
  const selfFn = new Map<string, number>();
  const totalFn = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const totalFile = new Map<string, number>();
  let busy = 0;
  const add = (m: Map<string, number>, k: string, v: number): void => {
    m.set(k, (m.get(k) ?? 0) + v);
  };
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id);
    if (!leaf || leaf.callFrame.functionName === '(idle)' || leaf.callFrame.functionName === '(program)') return;
    busy += dt;
    add(selfFn, fnKey(leaf), dt);
    add(selfFile, fileKey(leaf), dt);
    const seenFn = new Set<string>();
    const seenFile = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const fk = fnKey(n);
      if (n.callFrame.functionName !== '(root)' && !seenFn.has(fk)) {
        seenFn.add(fk);
        add(totalFn, fk, dt);
      }
      const file = fileKey(n);
      if (n.callFrame.functionName !== '(root)' && !seenFile.has(file)) {
        seenFile.add(file);
        add(totalFile, file, dt);
      }
    }
  });
  const lines = (self: Map<string, number>, total: Map<string, number>, by: 'self' | 'total'): ProfileLine[] =>
    [...new Set([...self.keys(), ...total.keys()])]
      .map((what) => ({ what, selfPct: (100 * (self.get(what) ?? 0)) / busy, totalPct: (100 * (total.get(what) ?? 0)) / busy }))
      .sort((a, b) => (by === 'self' ? b.selfPct - a.selfPct : b.totalPct - a.totalPct))
      .slice(0, top);
  return {
    byTotal: lines(selfFn, totalFn, 'total'),
    bySelf: lines(selfFn, totalFn, 'self'),
    files: lines(selfFile, totalFile, 'self'),
    busyMs: busy / 1000,
  };
}

/** Prints where a profile's time went: by file (self) and by function (inclusive). */
export function printProfile(label: string, path: string): void {
  const s = summarizeProfile(path, 20);
  console.log(`\nCPU profile of ${label} over the window (${s.busyMs.toFixed(0)} ms busy; ${path}):`);
  console.log('  by file (self):');
  for (const l of s.files.slice(0, 12)) console.log(`    ${l.selfPct.toFixed(1).padStart(5)}%  ${l.what}`);
  console.log('  by function (inclusive):');
  for (const l of s.byTotal.slice(0, 20)) console.log(`    ${l.totalPct.toFixed(1).padStart(5)}% (self ${l.selfPct.toFixed(1)}%)  ${l.what}`);
}
