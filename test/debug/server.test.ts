import { describe, expect, it } from 'vitest';
import { startServer } from './support.js';

const ENDPOINTS = [
  '/debug',
  '/debug/syncz',
  '/debug/config_dump',
  '/debug/configz',
  '/debug/policies',
  '/debug/certz',
  '/debug/resources',
  '/debug/services',
  '/debug/events',
  '/debug/ui',
  '/metrics',
  '/healthz',
  '/readyz',
];

describe('debug index', () => {
  it.each(ENDPOINTS)('the text index lists %s with a description', async (path) => {
    const { base } = await startServer();
    const res = await fetch(`${base}/debug`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const line = (await res.text()).split('\n').find((l) => l.split(/\s+/)[0]?.split(/[?[]/)[0] === path);
    expect(line, `no line for ${path}`).toBeDefined();
    expect(line?.trim().length).toBeGreaterThan(path.length + 10);
  });

  it.each([
    ['Accept: application/json', '/debug', { accept: 'application/json' }],
    ['?format=json', '/debug?format=json', {}],
  ])('answers JSON with %s', async (_how, path, headers) => {
    const { base } = await startServer();
    const res = await fetch(`${base}${path}`, { headers });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { endpoints: { path: string; description: string }[] };
    expect(body.endpoints.map((e) => e.path.split(/[?[]/)[0])).toEqual(ENDPOINTS);
    for (const e of body.endpoints) expect(e.description).not.toBe('');
  });

  it('says in one line, first, that nothing is encrypted when there is no issuer; /debug/certz says the same', async () => {
    const { base } = await startServer();
    const index = await (await fetch(`${base}/debug`)).text();
    expect(index.split('\n')[0]).toBe(
      'workload certificates are off (no --issuer): nothing is encrypted, and a TrafficPolicy asking for STRICT mTLS is not programmed',
    );
    expect(await (await fetch(`${base}/debug/certz?format=text`)).text()).toBe(`${index.split('\n')[0]}\n`);
    expect(await (await fetch(`${base}/debug/certz`)).json()).toEqual({ enabled: false, reason: expect.stringContaining('nothing is encrypted') });
    expect(((await (await fetch(`${base}/debug?format=json`)).json()) as { certificates: string }).certificates).toContain('nothing is encrypted');
  });

  it('serves /debug/ like /debug', async () => {
    const { base } = await startServer();
    const res = await fetch(`${base}/debug/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/debug/syncz');
  });
});

describe('debug routing', () => {
  it.each(['/', '/nope', '/debug/nope'])('answers 404 for %s, pointing to /debug', async (path) => {
    const { base } = await startServer();
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('see /debug');
  });

  it.each([
    ['POST', '/debug/syncz'],
    ['PUT', '/healthz'],
    ['DELETE', '/debug/config_dump?proxy=web-0.default'],
    ['POST', '/metrics'],
  ])('answers 405 with Allow: GET for %s %s', async (method, path) => {
    const { base } = await startServer();
    const res = await fetch(`${base}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('logs each request at debug level with its status', async () => {
    const { base, logs } = await startServer();
    await (await fetch(`${base}/healthz`)).text();
    await (await fetch(`${base}/nope`)).text();
    const requests = logs.filter((l) => l.msg === 'debug request');
    expect(requests.map((l) => [l.level, l.url, l.status])).toEqual([
      [20, '/healthz', 200],
      [20, '/nope', 404],
    ]);
  });

  it('answers 500 when a handler throws, and keeps serving', async () => {
    const { base, logs } = await startServer({
      proxies: () => {
        throw new Error('stream table corrupted');
      },
      heldResources: () => undefined,
      sourceProgress: () => new Map(),
    });
    const res = await fetch(`${base}/debug/syncz`);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('stream table corrupted');
    expect(logs.some((l) => l.level === 50 && l.msg === 'debug endpoint failed')).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('health', () => {
  it('answers /healthz with 200 ok', async () => {
    const { base } = await startServer();
    const res = await fetch(`${base}/healthz`);
    expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
  });

  it('flips /readyz from 503 with the reason to 200 when readiness changes', async () => {
    const { base, readiness } = await startServer();
    const before = await fetch(`${base}/readyz`);
    expect([before.status, await before.text()]).toEqual([503, 'not ready: sources not synced\n']);
    readiness.ready = true;
    readiness.reason = '';
    const after = await fetch(`${base}/readyz`);
    expect([after.status, await after.text()]).toEqual([200, 'ready\n']);
  });
});
