/**
 * The trust bundle file: loaded at start (or a one-line refusal), re-read when it is replaced — as a
 * file by rename, and as a ConfigMap volume by its `..data` symlink swap — and a broken bundle leaves
 * the last good one serving, with the problem on record.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrustBundleFile, type Bundle } from '../../src/certs/bundle.ts';
import { openPki, type Ca, type Pki } from '../support/pki.ts';

let pki: Pki;
let one: Ca;
let two: Ca;
const dirs: string[] = [];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  pki = await openPki();
  one = await pki.root('one');
  two = await pki.root('two');
});
afterAll(async () => {
  await pki.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trellis-bundle-'));
  dirs.push(d);
  return d;
}

const subjects = (b: Bundle) => b.roots.map((r) => r.subject);

describe('TrustBundleFile', () => {
  it('refuses to start on a missing or broken bundle, naming the file', async () => {
    const d = await dir();
    await expect(TrustBundleFile.open(join(d, 'nope.pem'), logger)).rejects.toThrow(`the trust bundle ${join(d, 'nope.pem')} cannot be read: ENOENT`);
    await writeFile(join(d, 'bad.pem'), 'not a certificate');
    await expect(TrustBundleFile.open(join(d, 'bad.pem'), logger)).rejects.toThrow(`the trust bundle ${join(d, 'bad.pem')} holds no PEM certificate`);
  });

  it('follows a file replaced by rename, and keeps the last good bundle through a broken one', async () => {
    const d = await dir();
    const file = join(d, 'ca.pem');
    await writeFile(file, one.certPem);
    const b = await TrustBundleFile.open(file, logger);
    try {
      expect(subjects(b.bundle)).toEqual(['CN=one']);
      const changed = once(b, 'changed') as Promise<[Bundle]>;
      await writeFile(join(d, 'next'), one.certPem + two.certPem);
      await rename(join(d, 'next'), file);
      expect(subjects((await changed)[0])).toEqual(['CN=one', 'CN=two']);

      await writeFile(join(d, 'next'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      await rename(join(d, 'next'), file);
      await b.reload();
      expect(b.error).toMatch(/certificate 1 of 1 does not parse/);
      expect(subjects(b.bundle)).toEqual(['CN=one', 'CN=two']);
    } finally {
      b.close();
    }
  });

  it('follows a ConfigMap volume when its ..data symlink is swapped', async () => {
    const d = await dir();
    const v1 = join(d, '..2026_12_06_v1');
    const v2 = join(d, '..2026_12_06_v2');
    await mkdir(v1);
    await mkdir(v2);
    await writeFile(join(v1, 'root-cert.pem'), one.certPem);
    await writeFile(join(v2, 'root-cert.pem'), two.certPem);
    await symlink(v1, join(d, '..data'));
    await symlink(join('..data', 'root-cert.pem'), join(d, 'root-cert.pem'));
    const b = await TrustBundleFile.open(join(d, 'root-cert.pem'), logger);
    try {
      const changed = once(b, 'changed') as Promise<[Bundle]>;
      await symlink(v2, join(d, '..data_tmp'));
      await rename(join(d, '..data_tmp'), join(d, '..data'));
      expect(subjects((await changed)[0])).toEqual(['CN=two']);
      expect(b.error).toBeUndefined();
    } finally {
      b.close();
    }
  });
});
