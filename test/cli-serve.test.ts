/**
 * `trellis serve` as a process: a port it cannot listen on ends it at once with one line and exit
 * status 1, whatever else had started; and what it logs carries ISO 8601 timestamps.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TrellisProcess } from './support/cli-process.ts';

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

describe('trellis serve logs', () => {
  it('time-stamps every line in ISO 8601', async () => {
    trellis = new TrellisProcess(['serve', '--manifests', 'examples/mesh', '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0']);
    await trellis.until('trellis serving', (l) => l.msg === 'trellis serving');
    for (const line of trellis.lines) expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await trellis.stop()).toBe(0);
  });
});
