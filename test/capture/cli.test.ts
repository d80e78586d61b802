/** `trellis capture` as the init container runs it: the flags, `--dry-run`, bad values and a failing or missing iptables-restore. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCapture } from '../../src/capture/run.ts';
import { DEFAULT_CAPTURE_OPTIONS } from '../../src/capture/ruleset.ts';
import { captureContainer } from '../../src/inject/containers.ts';
import { podOptions } from '../../src/inject/annotations.ts';
import { DEFAULT_SETTINGS } from '../../src/inject/settings.ts';
import { trellis, trellisWithEnv, type CliResult } from '../support/cli.ts';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const golden = (name: string) => readFileSync(join(GOLDEN, name, 'ruleset.rules'), 'utf8');

/** `trellis capture ARGS` with only `path` on PATH. */
const captureWithPath = (path: string, ...args: string[]): Promise<CliResult> => trellisWithEnv({ PATH: path }, 'capture', ...args);

describe('trellis capture --dry-run', () => {
  it('prints the default ruleset', async () => {
    const r = await trellis('capture', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(golden('defaults'));
  });

  it('takes every exclusion from its flag (spaces, duplicates and order do not matter)', async () => {
    const r = await trellis(
      'capture',
      '--dry-run',
      '--proxy-uid',
      '2000',
      '--exclude-inbound-ports',
      '9090, 8080,9090',
      '--exclude-outbound-ports',
      '5432,443',
      '--exclude-outbound-cidrs',
      '192.168.0.0/16,fd00::/8,10.0.0.0/8',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(golden('every-exclusion'));
  });

  it("accepts the injected init container's command as it is", async () => {
    const options = podOptions(
      {
        'trellis.dev/exclude-inbound-ports': '8080,9090',
        'trellis.dev/exclude-outbound-ports': '443,5432',
        'trellis.dev/exclude-outbound-cidrs': '10.0.0.0/8,192.168.0.0/16,fd00::/8',
      },
      true,
    );
    const [program, command, ...args] = captureContainer(DEFAULT_SETTINGS, options).command as string[];
    expect([program, command]).toEqual(['trellis', 'capture']);
    const r = await trellis('capture', ...args, '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const rule of ['--dport 8080 -j RETURN', '--dport 9090 -j RETURN', '--dport 443 -j RETURN', '--dport 5432 -j RETURN']) {
      expect(r.stdout).toContain(rule);
    }
    expect(r.stdout).toContain('-d 10.0.0.0/8 -j RETURN');
    expect(r.stdout).toContain('-d 192.168.0.0/16 -j RETURN');
    expect(r.stdout).toContain('--uid-owner 1337 -j RETURN');
  });
});

describe('trellis capture refuses a bad flag value with exit 2 and one line naming the flag', () => {
  it.each([
    ['--exclude-inbound-ports', '8080,http'],
    ['--exclude-inbound-ports', '70000'],
    ['--exclude-outbound-ports', '0'],
    ['--exclude-outbound-ports', ''],
    ['--exclude-outbound-cidrs', '10.0.0.0/33'],
    ['--exclude-outbound-cidrs', '10.0.0.1'],
    ['--proxy-uid', 'envoy'],
  ])('%s %j', async (flag, value) => {
    const r = await trellis('capture', '--dry-run', flag, value);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^trellis capture: ${flag}: `));
  });

  it('an unknown flag', async () => {
    const r = await trellis('capture', '--exclude-ports', '80');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trellis capture: .*--exclude-ports/);
  });
});

describe('trellis capture says in one line what failed', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-capture-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('iptables-restore missing: exit 1', async () => {
    const r = await captureWithPath(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('trellis capture: iptables-restore not found on PATH (install the iptables package)\n');
  });

  it('iptables-restore failing: exit 1 with its error output, and it was given the ruleset', async () => {
    const fake = join(dir, 'fake-restore');
    const received = join(dir, 'received.rules');
    await writeFile(fake, `#!/bin/sh\ncat > '${received}'\necho 'iptables-restore: line 9 failed' >&2\necho 'Try --help' >&2\nexit 2\n`);
    await chmod(fake, 0o755);
    const err: string[] = [];
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) };
    const code = await runCapture({ ...DEFAULT_CAPTURE_OPTIONS, dryRun: false }, io, fake);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`trellis capture: ${fake} failed (exit 2): iptables-restore: line 9 failed; Try --help\n`]);
    expect(readFileSync(received, 'utf8')).toBe(golden('defaults'));
  });
});
