import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx');

async function trellis(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', tsx, 'src/cli.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('trellis command line', () => {
  it('prints help for serve, listing its flags', async () => {
    const r = await trellis('serve', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--resources', '--xds-address', '--debug-address', '--debounce-min', '--debounce-max', '--log-level']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it.each([
    [['serve', '--bogus'], "trellis serve: Unknown option '--bogus'"],
    [['serve', '--resources', 'x.yaml', '--xds-address', 'nowhere'], 'trellis serve: --xds-address (TRELLIS_XDS_ADDRESS): expected HOST:PORT'],
    [['launch'], 'trellis: unknown command "launch"'],
  ])('answers %j with one clear line and exit status 2', async (args, message) => {
    const r = await trellis(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
