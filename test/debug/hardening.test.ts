/**
 * The debug endpoint against hostile input and heavy use: text views escape control characters, every
 * response says nosniff, a loopback listener answers only loopback Host names (DNS rebinding), and the
 * heavy views are built at most once a second and capped in size.
 */
import { request } from 'node:http';
import { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { escapeControl, SYNCZ_COLUMNS } from '../../src/debug/text.js';
import { hostAllowed } from '../../src/debug/server.js';
import type { XdsIntrospection } from '../../src/xds/status.js';
import { defaultViews, fakeIntrospection, proxy, startServer, typeStatus, V1 } from './support.js';

const ENDPOINTS = [
  '/debug',
  '/debug/syncz',
  '/debug/syncz?format=text',
  '/debug/config_dump?proxy=web-0.default',
  '/debug/configz',
  '/debug/policies',
  '/debug/certz',
  '/debug/certz?format=text',
  '/metrics',
  '/healthz',
  '/readyz',
  '/nope',
];

/** A GET with a Host header of our choosing (fetch will not send one). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('text views', () => {
  it('escape control characters: a newline in node.id forges no row in syncz', async () => {
    const views = defaultViews();
    const forged = 'evil\nfake-0.default  sidecar  sotw   CDS   SYNCED';
    views.proxies = [proxy(forged, 9, 'sotw', [typeStatus('cluster', 'SYNCED', V1, V1)])];
    const { base, problems } = await startServer(fakeIntrospection(views));
    const lines = (await (await fetch(`${base}/debug/syncz?format=text`)).text()).trimEnd().split('\n');
    expect(lines).toHaveLength(4); // summary, blank, header, one row
    expect(lines[2]?.startsWith(SYNCZ_COLUMNS[0])).toBe(true);
    expect(lines[3]).toContain('evil\\nfake-0.default');
    expect(lines.some((l) => l.startsWith('fake-0.default'))).toBe(false);

    problems.push({ severity: 'error', message: 'bad\nerror: forged\u001b[2J' });
    const configz = (await (await fetch(`${base}/debug/configz?format=text`)).text()).trimEnd().split('\n');
    expect(configz).toEqual(['error: bad\\nerror: forged\\x1b[2J']);
  });

  it.each([
    ['tab', 'a\tb', 'a\\tb'],
    ['carriage return', 'a\rb', 'a\\rb'],
    ['DEL and C1', 'a\u007f\u0085b', 'a\\x7f\\x85b'],
    ['line separator', 'a\u2028b', 'a\\u2028b'],
    ['nothing to escape', 'web-0.default ünïcode', 'web-0.default ünïcode'],
  ])('escapeControl: %s', (_what, input, out) => {
    expect(escapeControl(input)).toBe(out);
  });
});

describe('headers', () => {
  it.each(ENDPOINTS)('%s carries X-Content-Type-Options: nosniff', async (path) => {
    const { base } = await startServer();
    const res = await fetch(`${base}${path}`);
    await res.text();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('DNS rebinding', () => {
  it('on loopback, answers a Host of loopback or the bound address, and 403 to any other name', async () => {
    const { base } = await startServer();
    const port = new URL(base).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      expect((await getWithHost(base, '/debug/syncz', host)).status, host).toBe(200);
    }
    for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.io:${port}`]) {
      const res = await getWithHost(base, '/debug/syncz', host);
      expect(res.status, host).toBe(403);
      expect(res.body).toContain('forbidden');
    }
  });

  it('does not restrict a listener that is not on loopback (anything reaching it may ask)', () => {
    expect(hostAllowed('0.0.0.0', 'trellis.trellis-system.svc:9901')).toBe(true);
    expect(hostAllowed('10.0.0.5', 'anything')).toBe(true);
    expect(hostAllowed('127.0.0.1', 'anything')).toBe(false);
    expect(hostAllowed('::1', '[::1]:9901')).toBe(true);
  });
});

describe('heavy views', () => {
  /** An introspection that counts how often syncz is built. */
  function counting(): { introspection: XdsIntrospection; builds: () => number; views: ReturnType<typeof defaultViews> } {
    const views = defaultViews();
    const inner = fakeIntrospection(views);
    let n = 0;
    return {
      views,
      builds: () => n,
      introspection: {
        ...inner,
        proxies: () => {
          n++;
          return inner.proxies();
        },
      },
    };
  }

  it('builds /debug/syncz once for many concurrent and repeated requests within the cache time', async () => {
    const c = counting();
    const { base } = await startServer(c.introspection, { viewCacheMs: 60_000 });
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${base}/debug/syncz`)).text()));
    c.views.proxies = [];
    bodies.push(await (await fetch(`${base}/debug/syncz`)).text());
    expect(new Set(bodies).size).toBe(1);
    expect(c.builds()).toBe(1);
    // Another question (the text table) is built on its own.
    await (await fetch(`${base}/debug/syncz?format=text`)).text();
    expect(c.builds()).toBe(2);
  });

  it('collects /metrics once for many scrapers within the cache time', async () => {
    const running = await startServer(undefined, { viewCacheMs: 60_000 });
    let collected = 0;
    new Gauge({
      name: 'test_collections',
      help: 'how often the registry was collected',
      registers: [running.metrics.registry],
      collect() {
        collected++;
        this.set(collected);
      },
    });
    await Promise.all(Array.from({ length: 45 }, async () => (await fetch(`${running.base}/metrics`)).text()));
    expect(collected).toBe(1);
  });

  it('defaults to caching heavy views for a second, and not the light ones', async () => {
    const c = counting();
    const { base } = await startServer(c.introspection, {});
    await (await fetch(`${base}/debug/syncz`)).text();
    await (await fetch(`${base}/debug/syncz`)).text();
    expect(c.builds()).toBe(1);
    await (await fetch(`${base}/readyz`)).text();
    await (await fetch(`${base}/debug/configz`)).text();
    expect(c.builds()).toBe(1);
  });

  it('caps the size: text cut at a whole line with a note, JSON refused with its size', async () => {
    const views = defaultViews();
    views.proxies = Array.from({ length: 200 }, (_, i) => proxy(`p-${i}.default`, i, 'sotw', [typeStatus('cluster', 'SYNCED', V1, V1)]));
    const { base } = await startServer(fakeIntrospection(views), { viewCacheMs: 0, maxBodyBytes: 2_000 });
    const res = await fetch(`${base}/debug/syncz?format=text`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2_000);
    const lines = body.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\.\.\. cut: \d+ bytes, over the limit of 2000/);
    for (const l of lines.slice(3, -1)) expect(l).toMatch(/^p-\d+\.default +sidecar +sotw +CDS +SYNCED/);
    const big = await fetch(`${base}/debug/syncz`);
    expect(big.status).toBe(507);
    expect(await big.text()).toMatch(/too large: \d+ bytes, over the limit of 2000/);
  });
});
