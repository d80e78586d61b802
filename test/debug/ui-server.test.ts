/**
 * What the debug server does for the UI: its files under a strict Content-Security-Policy, the
 * event stream (coalesced, closed with the client and with the server), /debug/resources with the
 * source objects of each resource, and /debug/services.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChangeFeed, serveEvents, type ChangeEvent } from '../../src/debug/events.ts';
import { buildServices } from '../../src/debug/services.ts';
import { UI_CSP } from '../../src/debug/ui.ts';
import type { MeshModel, ModelEndpoint } from '../../src/model/types.ts';
import { defaultViews, fakeIntrospection, HELD, startServer } from './support.ts';

describe('/debug/ui files', () => {
  it.each([
    ['/debug/ui', 'text/html'],
    ['/debug/ui/', 'text/html'],
    ['/debug/ui/app.js', 'text/javascript'],
    ['/debug/ui/model.js', 'text/javascript'],
    ['/debug/ui/style.css', 'text/css'],
  ])('%s is %s under the CSP, nosniff', async (path, type) => {
    const { base } = await startServer();
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(new RegExp(`^${type}`));
    expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('has a CSP that allows nothing from another origin and nothing inline', () => {
    expect(UI_CSP).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
  });

  it('serves no other file (the type declarations of the helpers, a path outside)', async () => {
    const { base } = await startServer();
    for (const path of ['/debug/ui/model.d.ts', '/debug/ui/../server.ts', '/debug/ui/%2e%2e/server.ts']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it('lists /debug/ui in the index, not each of its files', async () => {
    const { base } = await startServer();
    const index = await (await fetch(`${base}/debug`)).text();
    expect(index).toMatch(/^\/debug\/ui\s/m);
    expect(index).not.toContain('/debug/ui/app.js');
  });

  it('answers 500 naming the directory when the files are missing, and serves the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-ui-missing-'));
    await writeFile(join(dir, 'app.js'), '');
    const { base } = await startServer(undefined, { viewCacheMs: 0, uiDir: dir });
    try {
      const res = await fetch(`${base}/debug/ui`);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe(`debug UI: ${dir} has no index.html\n`);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ChangeFeed', () => {
  it('sends one event for a burst, then at most one a second', async () => {
    const feed = new ChangeFeed(300);
    const events: ChangeEvent[] = [];
    const next = () => new Promise<ChangeEvent>((resolve) => feed.subscribe(resolve));
    feed.subscribe((e) => events.push(e));
    let arrived = next();
    for (let i = 0; i < 5; i++) feed.notify();
    const first = await arrived;
    arrived = next();
    feed.notify();
    feed.notify();
    const second = await arrived;
    expect(events.map((e) => e.epoch)).toEqual([1, 2]);
    expect(second.at - first.at).toBeGreaterThanOrEqual(300);
    feed.close();
  });

  it('waits out the rest of the window when its timer fires before the clock says it is over', async () => {
    // The clock, as read: the first notice and its event at 0, the second notice at 100, its timer
    // firing at 299 (a millisecond early), then 300.
    const readings = [0, 0, 100, 299, 300];
    const feed = new ChangeFeed(300, () => readings.shift() ?? 300);
    const events: ChangeEvent[] = [];
    const next = () => new Promise<ChangeEvent>((resolve) => feed.subscribe(resolve));
    feed.subscribe((e) => events.push(e));
    let arrived = next();
    feed.notify();
    await arrived;
    arrived = next();
    feed.notify();
    await arrived;
    expect(events.map((e) => e.at)).toEqual([0, 300]);
    feed.close();
  });
});

describe('/debug/events', () => {
  it('opens with the current epoch as a change event', async () => {
    const { base } = await startServer();
    const abort = new AbortController();
    const res = await fetch(`${base}/debug/events`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.endsWith('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    expect(text).toMatch(/^retry: 1000\nid: 0\nevent: change\ndata: \{"epoch":0,"at":\d+\}\n\n$/);
  });

  it('lets go of a client that goes away', async () => {
    const feed = new ChangeFeed();
    const server = createServer((req, res) => serveEvents(req, res, feed));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: abort.signal });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    expect(feed.subscribers).toBe(1);
    abort.abort();
    await new Promise<void>((resolve) => {
      const check = (): void => (feed.subscribers === 0 ? resolve() : void setImmediate(check));
      check();
    });
    expect(feed.subscribers).toBe(0);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    feed.close();
  });

  it('does not keep the debug server from closing', async () => {
    const { base, server } = await startServer();
    const res = await fetch(`${base}/debug/events`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    server.changed();
    await reader.read();
    await server.close();
    // The stream is cut, not left open: the next read fails as the socket closes.
    await expect(reader.read()).rejects.toThrow('terminated');
  });
});

describe('/debug/resources', () => {
  it('lists each acked resource with its source objects, sensitive fields redacted', async () => {
    const views = defaultViews();
    views.held.set('web-0.default', [
      {
        ...HELD[1],
        kind: 'cluster',
        versionAcked: '1',
        resources: [
          {
            name: 'c',
            version: '1',
            resource: { name: 'c' },
            sources: [
              { kind: 'TrafficPolicy', namespace: 'shop', name: 'p' },
              { kind: 'Service', namespace: 'shop', name: 'web' },
            ],
          },
        ],
      },
      ...HELD.filter((h) => h.kind === 'secret'),
    ]);
    const { base } = await startServer(fakeIntrospection(views));
    const body = (await (await fetch(`${base}/debug/resources?proxy=web-0.default`)).json()) as {
      types: { type: string; resources: { name: string; sources: string[]; resource: unknown }[] }[];
    };
    expect(body.types.map((t) => t.type)).toEqual(['CDS', 'SDS']);
    expect(body.types[0]?.resources).toEqual([{ name: 'c', version: '1', sources: ['Service shop/web', 'TrafficPolicy shop/p'], resource: { name: 'c' } }]);
    expect(JSON.stringify(body.types[1])).not.toContain('PRIVATE KEY');
  });

  it.each([
    ['(nothing)', 400, 'missing ?proxy=ID'],
    ['?proxy=nobody', 404, 'proxy "nobody" is not connected'],
  ])('answers %s with %i', async (query, status, text) => {
    const { base } = await startServer();
    const res = await fetch(`${base}/debug/resources${query === '(nothing)' ? '' : query}`);
    expect(res.status).toBe(status);
    expect(await res.text()).toContain(text);
  });
});

const endpoint = (address: string, region: string, zone: string, ready = true): ModelEndpoint => ({
  address,
  port: 8080,
  ready,
  locality: { region, zone, subZone: '' },
  pod: `shop/${address}`,
  source: { kind: 'EndpointSlice', namespace: 'shop', name: 'web-1' },
});

describe('buildServices', () => {
  it("groups each port's endpoints by locality and lists the policies attached, with the fields each one won", () => {
    const ref = (name: string) => ({ kind: 'TrafficPolicy', namespace: 'shop', name });
    const model = {
      services: [
        {
          namespace: 'shop',
          name: 'web',
          hostname: 'web.shop.svc.cluster.local',
          kind: 'ClusterIP',
          selector: {},
          source: { kind: 'Service', namespace: 'shop', name: 'web' },
          ports: [
            {
              name: 'http',
              port: 80,
              protocol: 'http',
              targetPort: 8080,
              endpoints: [endpoint('10.0.0.1', 'eu', 'eu-b'), endpoint('10.0.0.2', 'eu', 'eu-a'), endpoint('10.0.0.3', '', 'eu-a', false)],
              policy: { settings: {}, origins: { 'retries.attempts': ref('b'), 'timeouts.request': ref('a') } },
            },
          ],
        },
      ],
      policies: [
        { namespace: 'shop', name: 'b', source: ref('b'), attachedTo: ['Service shop/web:80'], conditions: [] },
        { namespace: 'shop', name: 'a', source: ref('a'), attachedTo: ['Service shop/web:80'], conditions: [] },
        { namespace: 'shop', name: 'z', source: ref('z'), attachedTo: ['Service shop/db:5432'], conditions: [] },
      ],
    } as unknown as MeshModel;
    const port = buildServices(model).services[0]?.ports[0];
    expect(port?.localities.map((l) => [l.locality, l.endpoints.map((e) => [e.address, e.ready])])).toEqual([
      ['(unknown)/eu-a/(unknown)', [['10.0.0.3', false]]],
      ['eu/eu-a/(unknown)', [['10.0.0.2', true]]],
      ['eu/eu-b/(unknown)', [['10.0.0.1', true]]],
    ]);
    expect(port?.policies.map((p) => [p.policy, p.fields])).toEqual([
      ['TrafficPolicy shop/a', ['timeouts.request']],
      ['TrafficPolicy shop/b', ['retries.attempts']],
    ]);
  });

  it('is empty before the first model', () => {
    expect(buildServices(undefined)).toEqual({ services: [] });
  });
});
