import type { Diagnostic as Problem } from '../../src/diagnostics.ts';
/**
 * Canned xDS views and a debug server started on them, for the debug endpoint tests.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { afterEach } from 'vitest';
import { TypeUrl, type ResourceKind } from '../../src/envoy/types.js';
import type { HeldResources, NackRecord, ProxyStatus, SyncState, TypeStatus, XdsIntrospection } from '../../src/xds/status.js';
import { createMetrics, type Metrics } from '../../src/debug/metrics.js';
import { startDebugServer, type DebugServer, type DebugServerOptions } from '../../src/debug/server.js';

export const V1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const V2 = 'ffeeddccbbaa99887766554433221100';

export const NACK: NackRecord = {
  message: 'Error adding/updating route config web:\n  duplicate   virtual host "web"',
  code: 3,
  rejectedVersion: V2,
  nonce: '7',
  at: Date.UTC(2025, 0, 2, 3, 4, 5),
  rejected: [],
};

export function typeStatus(kind: ResourceKind, state: SyncState, sent: string, acked: string, lastError?: NackRecord): TypeStatus {
  return {
    kind,
    typeUrl: TypeUrl[kind],
    state,
    versionSent: sent,
    versionAcked: acked,
    nonceSent: sent === '' ? '' : '2',
    nonceAcked: acked === '' ? '' : '1',
    wildcard: kind === 'cluster' || kind === 'listener',
    subscribedCount: 0,
    subscribed: [],
    ...(lastError === undefined ? {} : { lastError }),
  };
}

export function proxy(proxyId: string, streamId: number, protocol: 'sotw' | 'delta', types: TypeStatus[]): ProxyStatus {
  return {
    streamId,
    proxyId,
    proxyClass: protocol === 'delta' ? 'grpc-client' : 'sidecar',
    protocol,
    node: { id: proxyId, cluster: 'default', metadata: {}, userAgent: 'envoy' },
    peer: `127.0.0.1:${40000 + streamId}`,
    connectedAt: Date.UTC(2025, 0, 2),
    types,
  };
}

/** Three proxies, out of order: one in every state, one synced, one without subscriptions. */
export const PROXIES: ProxyStatus[] = [
  proxy('web-0.default', 3, 'sotw', [
    typeStatus('secret', 'NOT SENT', '', ''),
    typeStatus('route', 'ERROR', V2, V1, NACK),
    typeStatus('listener', 'STALE', V2, V1),
    typeStatus('cluster', 'SYNCED', V1, V1),
    typeStatus('endpoint', 'SYNCED', V1, V1),
  ]),
  proxy('api-0.default', 1, 'sotw', [typeStatus('cluster', 'SYNCED', V1, V1), typeStatus('listener', 'SYNCED', V1, V1)]),
  proxy('grpc-0.default', 2, 'delta', []),
];

export const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----';

export const HELD: HeldResources[] = [
  {
    kind: 'secret',
    versionAcked: V1,
    resources: [
      {
        name: 'default',
        version: V1,
        resource: {
          name: 'default',
          tls_certificate: {
            certificate_chain: { inline_string: '-----BEGIN CERTIFICATE-----' },
            private_key: { inline_string: PRIVATE_KEY },
          },
        },
        sources: [],
      },
    ],
  },
  {
    kind: 'cluster',
    versionAcked: V1,
    resources: [
      { name: 'outbound|80||web', version: V2, resource: { name: 'outbound|80||web', type: 'EDS' }, sources: [] },
      { name: 'inbound|8080||', version: V1, resource: { name: 'inbound|8080||', type: 'STATIC' }, sources: [] },
    ],
  },
  { kind: 'endpoint', versionAcked: V1, resources: [{ name: 'outbound|80||web', version: V1, resource: { cluster_name: 'outbound|80||web' }, sources: [] }] },
  { kind: 'listener', versionAcked: V1, resources: [{ name: 'virtualOutbound', version: V1, resource: { name: 'virtualOutbound' }, sources: [] }] },
  { kind: 'route', versionAcked: V1, resources: [{ name: '80', version: V1, resource: { name: '80' }, sources: [] }], lastError: NACK },
];

export interface FakeViews {
  proxies: ProxyStatus[];
  held: Map<string, HeldResources[]>;
}

/** A fake XdsIntrospection over mutable canned data. */
export function fakeIntrospection(views: FakeViews): XdsIntrospection {
  return {
    proxies: () => views.proxies,
    heldResources: (id) => views.held.get(id),
    sourceProgress: () => new Map(),
  };
}

export function defaultViews(): FakeViews {
  return { proxies: [...PROXIES], held: new Map([['web-0.default', HELD]]) };
}

/** A pino logger writing JSON lines into `lines`. */
export function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const sink = {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return pino({ level: 'debug' }, sink);
}

export interface Running {
  base: string;
  metrics: Metrics;
  readiness: { ready: boolean; reason: string };
  logs: Record<string, unknown>[];
  /** What /debug/configz reports; tests push into it. */
  problems: Problem[];
  /** The server itself: changed() notifies the event stream; close() is also called after the test. */
  server: DebugServer;
}

const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Starts a debug server on 127.0.0.1, port 0; it is closed after the test. */
export async function startServer(
  introspection: XdsIntrospection = fakeIntrospection(defaultViews()),
  // Heavy views uncached by default here, so that a test sees each change at once; hardening.test.ts asks for the cache.
  limits: Pick<DebugServerOptions, 'viewCacheMs' | 'maxBodyBytes' | 'uiDir'> = { viewCacheMs: 0 },
): Promise<Running> {
  const metrics = createMetrics();
  const readiness = { ready: false, reason: 'sources not synced' };
  const logs: Record<string, unknown>[] = [];
  const problems: Problem[] = [];
  const server = await startDebugServer({
    problems: () => problems,
    host: '127.0.0.1',
    port: 0,
    introspection,
    readiness: () => readiness,
    metrics,
    logger: capturingLogger(logs),
    ...limits,
  });
  open.push(server);
  return { base: `http://127.0.0.1:${server.address.port}`, metrics, readiness, logs, problems, server };
}

/** The value of one series (`name{labels}` exactly as exposed), or undefined when it is absent. */
export function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
