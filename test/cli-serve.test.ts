/**
 * `trellis serve` as a process: a port it cannot listen on ends it at once with one line and exit
 * status 1, whatever else had started; an API server it cannot reach leaves it answering its probes
 * (not ready, saying why) and stoppable; what it logs carries ISO 8601 timestamps.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TrellisProcess } from './support/cli-process.ts';
import { releasedLoopbackPort } from './support/ports.ts';

let held: Server | undefined;
let trellis: TrellisProcess | undefined;

afterEach(async () => {
  await trellis?.stop();
  trellis = undefined;
  held?.close();
  held = undefined;
});

/** A port on 127.0.0.1 that the test holds. */
async function holdPort(): Promise<number> {
  held = createServer();
  held.listen(0, '127.0.0.1');
  await once(held, 'listening');
  const address = held.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('trellis serve with a port already in use', () => {
  it.each([
    ['debug', (port: number) => ['--xds-address', '127.0.0.1:0', '--debug-address', `127.0.0.1:${port}`]],
    ['xDS', (port: number) => ['--xds-address', `127.0.0.1:${port}`, '--debug-address', '127.0.0.1:0']],
  ])('ends with exit status 1 and one line naming the %s address, leaving nothing up', async (what, flags) => {
    const port = await holdPort();
    trellis = new TrellisProcess(['serve', '--manifests', 'examples/mesh', ...flags(port)]);
    // The process ends by itself: had the other server (or the manifests watch) stayed open, it would not.
    expect(await trellis.exit()).toBe(1);
    expect(trellis.stderr).toBe(`trellis serve: cannot listen on 127.0.0.1:${port} (${what}): address already in use\n`);
    expect(trellis.lines.map((l) => l.msg)).not.toContain('trellis serving');
  });
});

describe('trellis serve --kubeconfig with nothing listening at the API server address', () => {
  it('answers /healthz 200 and /readyz 503 with what it waits for from the start, and stops on SIGTERM while it waits', async () => {
    const apiPort = await releasedLoopbackPort();
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cli-serve-'));
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`,
    );
    try {
      trellis = new TrellisProcess(['serve', '--kubeconfig', kubeconfig, '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0']);
      const debug = `http://127.0.0.1:${await trellis.debugPort()}`;
      await trellis.until('a retry of the Services list', (l) => l.level === 40 && l.msg.startsWith('waiting for the first list of Services: '));
      expect((await fetch(`${debug}/healthz`)).status).toBe(200);
      const readyz = await fetch(`${debug}/readyz`);
      expect([readyz.status, await readyz.text()]).toEqual([
        503,
        expect.stringMatching(new RegExp(`^not ready: waiting for the first list of Services: connect ECONNREFUSED 127\\.0\\.0\\.1:${apiPort}; also of `)),
      ]);
      expect(await trellis.stop()).toBe(0);
      expect(trellis.lines.map((l) => l.msg)).toContain('stopped before the sources synced');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('trellis serve logs', () => {
  it('time-stamps every line in ISO 8601', async () => {
    trellis = new TrellisProcess(['serve', '--manifests', 'examples/mesh', '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0']);
    await trellis.until('trellis serving', (l) => l.msg === 'trellis serving');
    for (const line of trellis.lines) expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await trellis.stop()).toBe(0);
  });
});

describe('trellis serve on an unexpected error', () => {
  const preload = pathToFileURL(resolve('test/support/fault-on-signal.mjs')).href;
  it.each([
    ['a throw nobody catches', 'throw', 'uncaughtException'],
    ['a rejection nobody handles', 'rejection', 'unhandledRejection'],
  ])('%s: logs one fatal line with the error and its stack, and exits non-zero', async (_what, fault, origin) => {
    trellis = new TrellisProcess(['serve', '--manifests', 'examples/mesh', '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0'], {
      NODE_OPTIONS: `--import=${preload}`,
      TRELLIS_TEST_FAULT: fault,
    });
    await trellis.until('trellis serving', (l) => l.msg === 'trellis serving');
    trellis.kill('SIGUSR2');
    expect(await trellis.exit()).toBe(70);
    const fatal = trellis.lines.filter((l) => l.level === 60);
    expect(fatal.map((l) => l.msg)).toEqual([
      `unexpected error (${origin}), exiting: forced by the test: a ${fault === 'throw' ? 'throw nobody catches' : 'rejection nobody handles'}`,
    ]);
    expect((fatal[0] as unknown as { err?: { stack?: string } }).err?.stack).toMatch(/\n\s+at /);
    expect(trellis.stderr).toBe('');
  });
});
