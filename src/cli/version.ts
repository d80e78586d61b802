/**
 * `trellis version`: the version of the package Trellis runs from, read from its package.json at
 * run time (the same relative path from src/cli/ under tsx and from dist/cli/ once built), and
 * the version of Node.js it runs on.
 */
import { readFile } from 'node:fs/promises';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

/** The `version` field of Trellis's package.json. */
export async function trellisVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { name?: unknown; version?: unknown };
  if (pkg.name !== 'trellis' || typeof pkg.version !== 'string') throw new Error(`${PACKAGE_JSON.pathname}: not Trellis's package.json`);
  return pkg.version;
}

/** `trellis 0.1.0 (Node.js v20.19.0)` */
export async function versionLine(): Promise<string> {
  return `trellis ${await trellisVersion()} (Node.js ${process.version})`;
}
