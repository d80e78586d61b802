/**
 * The running control plane on a manifests directory edited live, as its log tells it: one line of
 * what is served at the start and after every reload; each problem logged when it appears, not
 * again while it stays, and once as fixed when it goes.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import type { MeshInputs } from '../../src/model/inputs.ts';
import type { StartSource } from '../../src/sources/source.ts';
import { SotwClient } from '../support/ads-client.ts';
import { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { CDS } from '../support/resources.ts';

const service = (name: string, port: number): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { ports: [{ name: http, port: ${port} }] }\n`;

const slice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [10.0.0.1] }, { addresses: [10.0.0.2] }]
`;

let root: string;
let dir: string;
let trellis: RunningTrellis | undefined;

/** Writes a manifest whole (beside the directory, then renamed in), so no read sees half of it. */
async function put(name: string, text: string): Promise<void> {
  await writeFile(join(root, name), text);
  await rename(join(root, name), join(dir, name));
}

/** `trellis serve` on `dir` with a short debounce, logging at info into `logs`. */
async function serveLogged(logs: Logs): Promise<RunningTrellis> {
  const logger = createLogger('info', { write: logs.write });
  const config = loadServeConfig(
    { manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' },
    {},
  );
  return serve(config, logger, startManifestSource(dir, logger));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'trellis-pipeline-'));
  dir = join(root, 'mesh');
  await mkdir(dir);
});

afterEach(async () => {
  await trellis?.close();
  trellis = undefined;
  await rm(root, { recursive: true, force: true });
});

describe('the control plane log, on a manifests directory edited live', () => {
  it('says what is served at each reload, and each problem once when it appears and once when it is fixed', async () => {
    await put('web.yaml', `${service('web', 80)}---\n${slice}`);
    await put('db.yaml', service('db', 70000));
    const logs = new Logs();
    trellis = await serveLogged(logs);

    const served = () => logs.lines.filter((l) => l.msg.startsWith('serving ')).map((l) => l.msg);
    const broken = () => logs.lines.filter((l) => l.level === 50 && /^db\.yaml#1:\d+:\d+ Service shop\/db: spec\.ports\[0\]\.port: /.test(l.msg));
    expect(served()).toEqual(['serving 1 service, 2 endpoints, 0 policies; 1 error, 0 warnings']);
    expect(broken()).toHaveLength(1);

    // A reload that leaves the problem as it was does not log it again.
    await put('api.yaml', service('api', 8080));
    await logs.until('the reload with api', () => served().includes('serving 2 services, 2 endpoints, 0 policies; 1 error, 0 warnings'));
    expect(broken()).toHaveLength(1);

    await put('db.yaml', service('db', 5432));
    await logs.until('the reload with db fixed', () => served().includes('serving 3 services, 2 endpoints, 0 policies; 0 errors, 0 warnings'));
    expect(logs.lines.filter((l) => l.level === 30 && /^fixed: db\.yaml#1:\d+:\d+ Service shop\/db: spec\.ports\[0\]\.port: /.test(l.msg))).toHaveLength(1);
    expect(broken()).toHaveLength(1);
    expect(served()).toHaveLength(3);
  });

  it('says what each reload cost: the debounce, the model, translation and the cache, the classes translated and the resources encoded', async () => {
    await put('web.yaml', `${service('web', 80)}---\n${slice}`);
    const logs = new Logs();
    trellis = await serveLogged(logs);
    const client = await SotwClient.connect(`127.0.0.1:${trellis.xdsPort}`, {
      node: { id: 'web-0.shop', metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'shop' } },
    });
    try {
      client.subscribe(CDS);
      client.ack(await client.next(CDS));
      const costs = () => logs.lines.filter((l) => l.msg.startsWith('serving ')).map((l) => l.rebuild as Record<string, number>);
      await put('api.yaml', service('api', 8080));
      const [, cost] = await logs.until('the reload with api', () => costs().length >= 2).then(costs);
      // One class in use (the sidecar's); its new cluster encoded, what was there before found unchanged.
      expect(cost).toMatchObject({ classes: 1, encoded: expect.any(Number) as number });
      expect(cost?.encoded).toBeGreaterThan(0);
      // Times, not bounds on them (a timer may fire a fraction of a millisecond early on performance.now's clock).
      expect(cost?.debounceMs).toBeGreaterThan(0);
      for (const k of ['modelMs', 'translateMs', 'cacheMs'] as const) expect(cost?.[k]).toBeGreaterThanOrEqual(0);
    } finally {
      client.close();
    }
  });

  it('places the problems of the model at their line and column, in the log and on /debug/configz', async () => {
    await put('web.yaml', service('web', 80));
    const policy =
      'apiVersion: trellis.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: p, namespace: shop }\nspec:\n  targetRefs: [{ group: "", kind: Service, name: web }]\n  retires: { attempts: 3 }\n';
    await put('p.yaml', policy);
    const logs = new Logs();
    const logger = createLogger('info', { write: logs.write });
    const config = loadServeConfig({ manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0' }, {});
    trellis = await serve(config, logger, startManifestSource(dir, logger));
    const line = 'p.yaml#1:6:3 TrafficPolicy shop/p: spec.retires: unknown field (did you mean retries?)';
    expect(logs.lines.filter((l) => l.level === 50).map((l) => l.msg)).toContain(line);
    const configz = await (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/configz?format=text`)).text();
    expect(configz).toContain(`error: ${line}`);
  });

  it('shows a policy whose backend does not exist as ResolvedRefs=False on /debug/policies, the rest of it accepted', async () => {
    await put('web.yaml', `${service('web', 80)}---\n${slice}`);
    const routed = [
      'apiVersion: trellis.dev/v1alpha1',
      'kind: TrafficPolicy',
      'metadata: { name: p, namespace: shop }',
      'spec:',
      '  targetRefs: [{ group: "", kind: Service, name: web }]',
      '  timeouts: { request: 5s }',
      '  routing: { http: [{ backends: [{ service: nope }] }] }',
    ].join('\n');
    await put('p.yaml', `${routed}\n`);
    const logger = createLogger('fatal');
    const config = loadServeConfig({ manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0' }, {});
    trellis = await serve(config, logger, startManifestSource(dir, logger));
    const body = (await (await fetch(`http://127.0.0.1:${trellis.debugPort}/debug/policies`)).json()) as {
      policies: { conditions: { type: string; status: string; reason: string; message: string }[] }[];
    };
    const conditions = body.policies[0]?.conditions ?? [];
    expect(conditions.find((c) => c.type === 'ResolvedRefs')).toEqual({
      type: 'ResolvedRefs',
      status: 'False',
      reason: 'BackendNotFound',
      message:
        'spec.routing.http[0].backends[0].service: Service shop/nope not found; left out; spec.routing.http[0].backends: no backend with a weight above 0 can be used; the route is left out',
    });
    expect(conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
  });

  it('a rebuild that throws keeps the last good configuration serving, is logged with its stack and counted, and the next change is served', async () => {
    await put('web.yaml', `${service('web', 80)}---\n${slice}`);
    const logs = new Logs();
    const logger = createLogger('info', { write: logs.write });
    const config = loadServeConfig(
      { manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' },
      {},
    );
    // The real source, whose states can be made to throw in the model stage (any property read of the inputs).
    let poisoned = false;
    const poison = new Proxy({} as MeshInputs, {
      get() {
        throw new Error('injected: the model cannot read these inputs');
      },
    });
    const inner = startManifestSource(dir, logger);
    const start: StartSource = (onChange, hooks) => inner((state) => onChange(poisoned ? { ...state, inputs: poison } : state), hooks);
    trellis = await serve(config, logger, start);
    const debug = `http://127.0.0.1:${trellis.debugPort}`;
    const served = () => logs.lines.filter((l) => l.msg.startsWith('serving ')).map((l) => l.msg);
    const failures = () => logs.lines.filter((l) => l.msg === 'rebuild failed; serving the last good configuration');
    const failureCount = async () => /^trellis_rebuild_failures_total (\d+)$/m.exec(await (await fetch(`${debug}/metrics`)).text())?.[1];
    expect(served()).toEqual(['serving 1 service, 2 endpoints, 0 policies; 0 errors, 0 warnings']);
    const policiesBefore = await (await fetch(`${debug}/debug/configz`)).text();

    poisoned = true;
    await put('api.yaml', service('api', 8080));
    await logs.until('the failed rebuild', () => failures().length > 0);
    const failure = failures()[0] as unknown as { level: number; err?: { stack?: string } };
    expect(failure.level).toBe(50);
    expect(failure.err?.stack).toMatch(/injected: the model cannot read these inputs\n\s+at /);
    // /metrics is read once here: it is a heavy view, cached for a second.
    expect(await failureCount()).toBe('1');
    // Still serving what it served: ready, the same problems, nothing new served.
    expect((await fetch(`${debug}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${debug}/debug/configz`)).text()).toBe(policiesBefore);
    expect(served()).toHaveLength(1);

    poisoned = false;
    await put('db.yaml', service('db', 5432));
    await logs.until('the next change served', () => served().includes('serving 3 services, 2 endpoints, 0 policies; 0 errors, 0 warnings'));
    expect(failures()).toHaveLength(1);
  });
});

describe('proxy classes, as served', () => {
  it('are held while a proxy is connected and dropped once the grace period after it leaves has passed, as /metrics shows', async () => {
    await put('web.yaml', `${service('web', 80)}---\n${slice}`);
    const logger = createLogger('info', { write: new Logs().write });
    const config = loadServeConfig(
      { manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'class-grace': '200', 'debounce-min': '20', 'debounce-max': '200' },
      {},
    );
    trellis = await serve(config, logger, startManifestSource(dir, logger));
    const running = trellis;
    const debug = `http://127.0.0.1:${running.debugPort}`;
    const classes = async () => Number(/^trellis_cache_proxy_classes (\d+)$/m.exec(await (await fetch(`${debug}/metrics`)).text())?.[1]);

    const proxy = await SotwClient.connect(`127.0.0.1:${running.xdsPort}`, { node: { id: 'web-0.shop' } });
    proxy.subscribe(CDS);
    await proxy.next(CDS);
    expect(running.cache.classes()).toEqual(['sidecar/shop/web-0']);
    await pollFor('the class counted in /metrics', classes, (n) => n === 1);
    proxy.close();
    await pollFor('the class dropped from /metrics', classes, (n) => n === 0);
    expect(running.cache.classes()).toEqual([]);
  });
});
