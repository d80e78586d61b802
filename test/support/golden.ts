/**
 * Golden files: each case is a directory whose input file holds the case's options and manifests;
 * the outputs sit beside it. `UPDATE_GOLDEN=1 npm test` rewrites them (review the diff!); otherwise
 * a difference, a missing file or an orphaned file fails the test.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'vitest';

export const UPDATE = process.env.UPDATE_GOLDEN === '1';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/**
 * Compares (or, with UPDATE_GOLDEN=1, writes) every expected output of a case. `outputs` maps a
 * path relative to the case directory to its content; `inputs` are the case's own files, which are
 * never outputs.
 */
export function checkGolden(caseDir: string, outputs: ReadonlyMap<string, string>, inputs: readonly string[]): void {
  const existing = filesUnder(caseDir)
    .map((f) => relative(caseDir, f))
    .filter((f) => !inputs.includes(f));
  if (UPDATE) {
    for (const f of existing) if (!outputs.has(f)) rmSync(join(caseDir, f));
    for (const [f, content] of outputs) {
      mkdirSync(dirname(join(caseDir, f)), { recursive: true });
      writeFileSync(join(caseDir, f), content);
    }
    return;
  }
  const orphans = existing.filter((f) => !outputs.has(f)).sort();
  expect(orphans, `orphaned golden files in ${caseDir} (run UPDATE_GOLDEN=1 npm test and review)`).toEqual([]);
  for (const [f, content] of outputs) {
    const path = join(caseDir, f);
    expect(existsSync(path), `missing golden file ${path} (run UPDATE_GOLDEN=1 npm test and review)`).toBe(true);
    expect(content, `stale golden file ${path} (run UPDATE_GOLDEN=1 npm test and review the diff)`).toBe(readFileSync(path, 'utf8'));
  }
}

/** The case directories under a folder, sorted. */
export function goldenCases(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
}
