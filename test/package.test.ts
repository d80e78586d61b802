/**
 * package.json, the lock file and node_modules agree. grpc-js is pinned to one exact version while
 * src/xds/grpc-memory.ts reaches into its private decoder state; and the lock's root entry says what
 * package.json says, so `npm install` rewrites nothing (.ci/run fails when it would).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';

type Json = Record<string, unknown>;

const root = new URL('../', import.meta.url);
const readJson = (path: string): Json => JSON.parse(readFileSync(new URL(path, root), 'utf8')) as Json;

const pkg = readJson('package.json');
const lock = readJson('package-lock.json');
const lockPackages = lock['packages'] as Record<string, Json>;

function dependencies(manifest: Json): Record<string, string> {
  return manifest['dependencies'] as Record<string, string>;
}

/** npm writes bin paths normalised (`./dist/cli.js` becomes `dist/cli.js`). */
function normalisedBin(bin: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(bin as Record<string, string>).map(([name, path]) => [name, posix.normalize(path)]));
}

describe.each([
  ['@grpc/grpc-js', 'src/xds/grpc-memory.ts and NoncedResponse (src/xds/wire.ts) depend on its internals'],
  ['@grpc/grpc-js-xds', 'src/translate/client-quirks/grpc-js-xds-1.14.ts works around the quirks of one version'],
])('%s', (name, why) => {
  const wanted = dependencies(pkg)[name];

  it(`is pinned to one exact version, not a range (${why})`, () => {
    expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('is installed, and locked, at that version', () => {
    expect(readJson(`node_modules/${name}/package.json`)['version']).toBe(wanted);
    expect(lockPackages[`node_modules/${name}`]?.['version']).toBe(wanted);
  });
});

describe('the lock file', () => {
  const rootEntry = lockPackages[''] ?? {};

  it.each(['name', 'version', 'license', 'engines', 'dependencies', 'devDependencies'])('has the root %s of package.json', (field) => {
    expect(rootEntry[field]).toEqual(pkg[field]);
  });

  it('has the bin entries of package.json, normalised as npm writes them', () => {
    expect(rootEntry['bin']).toEqual(normalisedBin(pkg['bin']));
  });

  it('is named and versioned as package.json', () => {
    expect([lock['name'], lock['version']]).toEqual([pkg['name'], pkg['version']]);
  });
});
