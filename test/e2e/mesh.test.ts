/**
 * The mesh end to end: Trellis serves a manifests directory the test writes; xDS-enabled
 * @grpc/grpc-js-xds servers on loopback, described by its EndpointSlices, serve once Trellis sends
 * them their listener; @grpc/grpc-js-xds clients, each in its own process, make real RPCs through
 * the configuration Trellis serves them.
 */
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningTrellis } from '../../src/cli.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import { startXdsClient, startXdsServer, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';

const DEBOUNCE_MAX_MS = 200;

let dir: string;
let trellis: RunningTrellis;
const backends: Record<string, XdsServerProcess> = {};
const PROXYLESS = { PROXY_MODE: 'proxyless', NAMESPACE: 'default' };
const clients: XdsClientProcess[] = [];

interface Backend {
  readonly greeter: string;
  readonly ready?: boolean;
}

/**
 * A Service on port 50051 and, per backend, an EndpointSlice listing it on loopback (each backend
 * listens on its own port, and an EndpointSlice has one set of ports).
 */
function service(name: string, members: readonly Backend[]): string {
  const slices = members.map(
    (b) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${b.greeter}, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: grpc, port: ${backends[b.greeter]?.port ?? 1} }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: ${b.ready ?? true} }
    zone: zone-a
    targetRef: { kind: Pod, name: ${b.greeter} }
`,
  );
  const svc = `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  clusterIP: 10.96.0.${name.length}
  ports: [{ name: grpc, port: 50051 }]
`;
  return [svc, ...slices].join('---\n');
}

/** Replaces a manifest file atomically, as a Git checkout or an editor does. */
async function put(file: string, text: string): Promise<void> {
  await writeFile(join(dir, `.${file}.tmp`), text);
  await rename(join(dir, `.${file}.tmp`), join(dir, file));
}

async function client(service: string): Promise<XdsClientProcess> {
  const c = await startXdsClient({
    xdsServer: `127.0.0.1:${trellis.xdsPort}`,
    nodeId: `client-${clients.length}.default`,
    nodeMetadata: PROXYLESS,
    target: `xds:///${service}.default.svc.cluster.local:50051`,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-mesh-'));
  await put('greeter.yaml', '');
  const config = loadServeConfig({ manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': String(DEBOUNCE_MAX_MS) }, {});
  const logger = pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' });
  trellis = await serve(config, logger, startManifestSource(dir, logger));
  for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
    backends[name] = await startXdsServer({ xdsServer: `127.0.0.1:${trellis.xdsPort}`, nodeId: `${name}.default`, nodeMetadata: PROXYLESS, name });
  }
  await put('greeter.yaml', service('greeter', [{ greeter: 'alpha' }, { greeter: 'beta' }, { greeter: 'gamma', ready: false }]));
  // The servers serve once Trellis has sent them their listeners (gamma, not ready, gets none).
  await Promise.all([backends.alpha?.waitServing(), backends.beta?.waitServing()]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await trellis?.close();
  await Promise.all(Object.values(backends).map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('the mesh, end to end', () => {
  it('sends a call to the right service, spread over every ready endpoint and none to a not-ready one', async () => {
    const c = await client('greeter');
    expect(await c.callUntilOk(20_000)).toMatch(/^(alpha|beta):hello$/);
    const tally = await c.callMany(40);
    expect(tally.errors).toEqual({});
    expect(tally.ok['alpha:hello']).toBeGreaterThan(0);
    expect(tally.ok['beta:hello']).toBeGreaterThan(0);
    expect((await backends.gamma?.status())?.calls).toBe(0);
  });

  it('stops sending calls to an endpoint removed from the manifests, within the debounce window, and no call fails', async () => {
    const c = clients[0] ?? (await client('greeter'));
    const written = performance.now();
    await put('greeter.yaml', service('greeter', [{ greeter: 'alpha' }, { greeter: 'gamma', ready: false }]));
    // Every call is an event: call until twenty in a row went to alpha.
    let streak = 0;
    let lastBeta = written;
    for (let i = 0; i < 2000 && streak < 20; i++) {
      const reply = await c.call();
      if (reply === 'beta:hello') {
        lastBeta = performance.now();
        streak = 0;
      } else streak++;
    }
    expect(streak).toBe(20);
    // The file watch, the debounce window and the push: well within a second.
    expect(lastBeta - written).toBeLessThan(DEBOUNCE_MAX_MS + 800);
    const betaCalls = (await backends.beta?.status())?.calls;
    const after = await c.callMany(20);
    expect(after).toEqual({ ok: { 'alpha:hello': 20 }, errors: {} });
    expect((await backends.beta?.status())?.calls).toBe(betaCalls);
  });

  it('makes a service added while clients run reachable', async () => {
    const waiting = await client('hello');
    await expect(waiting.call({ deadlineMs: 300 })).rejects.toThrow();
    await put('hello.yaml', service('hello', [{ greeter: 'delta' }]));
    expect(await waiting.callUntilOk(20_000)).toBe('delta:hello');
  });

  it('keeps serving what worked when a file breaks, and says what is wrong', async () => {
    const c = clients[0] ?? (await client('greeter'));
    await put('broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: [unclosed\n');
    await put('greeter.yaml', service('greeter', [{ greeter: 'alpha' }]).replace('port: 50051', 'port: 500510'));
    const debug = `http://127.0.0.1:${trellis.debugPort}/debug/configz?format=text`;
    // Wait for the bad version to be read: configz names both files once it has been.
    let report = '';
    for (let i = 0; i < 200 && !(report.includes('broken.yaml') && report.includes('greeter.yaml')); i++) {
      report = await (await fetch(debug)).text();
      if (!report.includes('greeter.yaml')) await c.call();
    }
    expect(report).toContain('broken.yaml');
    expect(report).toMatch(/greeter\.yaml#1 Service default\/greeter: spec\.ports\[0\]\.port/);
    expect(await c.callMany(20)).toEqual({ ok: { 'alpha:hello': 20 }, errors: {} });
  });
});
