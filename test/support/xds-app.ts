/**
 * Test harness for end-to-end xDS tests: plain Greeter backends in this process, and grpc-js-xds
 * clients / xDS-enabled servers in child processes (grpc-js-xds reads its bootstrap once per
 * process, so each one needs its own). The child is test/support/xds-app-child.ts, its process
 * plumbing test/support/xds-child.ts. Servers can be told how to behave per call (fail the first
 * attempts of each x-call-id, delay, fail always) and count attempts per key; clients run loads
 * (count, concurrency, deadline, metadata per call) and report every call (test/support/xds-traffic.ts).
 *
 * Set TRELLIS_TEST_VERBOSE=1 to see the children's stderr (e.g. with GRPC_TRACE=xds_client,xds_resolver
 * GRPC_VERBOSITY=DEBUG, which the children inherit).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startChild, type Json } from './xds-child.ts';
import type { LoadOptions, LoadReport, ServerBehaviour } from './xds-traffic.ts';

export type { CallResult, LoadOptions, LoadReport, ServerBehaviour, StatusName } from './xds-traffic.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const GREETER_PROTO = join(here, 'proto', 'greeter.proto');
/** Default listener name template for xDS-enabled servers (gRFC A36). */
export const DEFAULT_SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

// ---------------------------------------------------------------------------------------------
// bootstrap

export interface XdsBootstrapOptions {
  /** host:port of the ADS server */
  xdsServer: string;
  nodeId: string;
  nodeMetadata?: Record<string, string>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  /** e.g. 'grpc/server?xds.resource.listening_address=%s'; startXdsServer defaults it to DEFAULT_SERVER_LISTENER_TEMPLATE */
  serverListenerTemplate?: string;
  /** bootstrap `certificate_providers` (gRFC A29), e.g. { default: { plugin_name: 'file_watcher', config: {...} } } */
  certificateProviders?: Record<string, { plugin_name: string; config: Record<string, unknown> }>;
}

/** The gRPC xDS bootstrap JSON for a test client or server. */
export function renderTestBootstrap(o: XdsBootstrapOptions): object {
  const bootstrap: Record<string, unknown> = {
    xds_servers: [{ server_uri: o.xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: o.nodeId,
      cluster: 'test',
      metadata: { ...(o.nodeMetadata ?? {}) },
      locality: { ...(o.locality ?? {}) },
    },
  };
  if (o.serverListenerTemplate !== undefined) bootstrap.server_listener_resource_name_template = o.serverListenerTemplate;
  if (o.certificateProviders !== undefined) bootstrap.certificate_providers = o.certificateProviders;
  return bootstrap;
}

// ---------------------------------------------------------------------------------------------
// plain Greeter (this process)

interface HelloRequest {
  name: string;
}
interface HelloReply {
  message: string;
}
type GreeterClient = grpc.Client & {
  SayHello(req: HelloRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
};

let greeterCtor: grpc.ServiceClientConstructor | undefined;
/** The Greeter client constructor (helloworld.Greeter from test/support/proto/greeter.proto). */
export function greeterService(): grpc.ServiceClientConstructor {
  if (!greeterCtor) {
    const def = protoLoader.loadSync(GREETER_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def).helloworld as grpc.GrpcObject;
    greeterCtor = pkg.Greeter as grpc.ServiceClientConstructor;
  }
  return greeterCtor;
}

/** One direct (non-xDS) SayHello call, e.g. to check a Greeter is up. */
export function directSayHello(address: string, name = 'hello', deadlineMs = 5000): Promise<string> {
  const Greeter = greeterService();
  const client = new Greeter(address, grpc.credentials.createInsecure()) as unknown as GreeterClient;
  return new Promise<string>((res, rej) => {
    client.SayHello({ name }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, reply) => {
      client.close();
      if (err) rej(err);
      else res(reply?.message ?? '');
    });
  });
}

export interface Greeter {
  port: number;
  /** 127.0.0.1:port */
  address: string;
  calls: () => number;
  close(): Promise<void>;
}

/** A plain (non-xDS) gRPC Greeter server on 127.0.0.1:0 in THIS process, answering SayHello with { message: `${name}:${hello.name}` } so the test can tell which backend answered. */
export async function startGreeter(name: string): Promise<Greeter> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(greeterService().service, {
    SayHello(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      calls++;
      callback(null, { message: `${name}:${call.request.name}` });
    },
  });
  const port = await new Promise<number>((res, rej) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p)));
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    address: `127.0.0.1:${port}`,
    calls: () => calls,
    close() {
      closed ??= new Promise<void>((res) => {
        // tryShutdown waits for open calls; force after a short grace so a test never hangs here.
        const force = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          res();
        });
      });
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// child processes

/** An error from the xDS client child: the gRPC status of a failed call. */
export class XdsCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${grpc.status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'XdsCallError';
  }
}

// ---------------------------------------------------------------------------------------------
// xDS client child

export interface CallOptions {
  /** request name; the reply is `${backend}:${name}`. Default 'hello'. */
  name?: string;
  /** per-call deadline, default 5000 ms */
  deadlineMs?: number;
  /** grpc waitForReady call option; default false */
  waitForReady?: boolean;
  /** request metadata (for header-matching routes) */
  metadata?: Record<string, string>;
}

export interface CallTally {
  /** reply message -> count */
  ok: Record<string, number>;
  /** `${code}: ${details}` -> count (the elapsed time in deadline details, " after 0.301s", is removed) */
  errors: Record<string, number>;
}

export interface XdsClientProcess {
  readonly pid: number;
  /** Make one unary SayHello call; resolves with the reply message or rejects with an XdsCallError (code + details). Per-call deadline (default 5000 ms). */
  call(opts?: CallOptions): Promise<string>;
  /** Make `count` calls (in sequence, or `concurrency` at a time) in the child and tally replies. */
  callMany(count: number, opts?: CallOptions & { concurrency?: number }): Promise<CallTally>;
  /**
   * Make `count` calls (`concurrency` at a time, metadata per call from templates) in the child and
   * report every one of them: status, the server that answered, elapsed time; and a tally.
   */
  load(opts: LoadOptions): Promise<LoadReport>;
  /** Calls (waitForReady, per-attempt deadline ≤ 2 s) until one succeeds; rejects after timeoutMs (default 15000) with the last error. */
  callUntilOk(timeoutMs?: number, opts?: Omit<CallOptions, 'deadlineMs' | 'waitForReady'>): Promise<string>;
  /** The channel's connectivity state name (IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN). */
  connectivityState(): Promise<string>;
  /** Tell the child to close its client and exit; SIGKILL it if it has not exited in 3 s; resolves when it has exited. */
  close(): Promise<void>;
  /** SIGKILL the child (a client that vanishes without closing its stream). */
  kill(): Promise<void>;
}

function callError(reply: Json): XdsCallError {
  return new XdsCallError(typeof reply.code === 'number' ? reply.code : grpc.status.UNKNOWN, typeof reply.details === 'string' ? reply.details : '');
}

/** Calls (waitForReady, per-attempt deadline ≤ 2 s) until one succeeds; rejects after timeoutMs with the last error. */
async function callUntilOk(
  call: (opts: CallOptions) => Promise<string>,
  exited: () => boolean,
  timeoutMs: number,
  opts: Omit<CallOptions, 'deadlineMs' | 'waitForReady'>,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown = new Error('no attempt made');
  let backoffMs = 10;
  for (;;) {
    const remaining = end - Date.now();
    if (remaining <= 0) break;
    const started = Date.now();
    try {
      // waitForReady queues the call until the channel has config and a ready subchannel.
      return await call({ ...opts, waitForReady: true, deadlineMs: Math.min(remaining, 2000) });
    } catch (err) {
      lastError = err;
      if (exited()) throw err;
      // Some failures are immediate even with waitForReady (e.g. no matching virtual host or
      // route): don't spin on them, back off a little before the next attempt.
      if (Date.now() - started < 50) {
        await new Promise((r) => setTimeout(r, Math.min(backoffMs, Math.max(0, end - Date.now()))));
        backoffMs = Math.min(backoffMs * 2, 250);
      }
    }
  }
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  const e = new Error(`callUntilOk: no successful call within ${timeoutMs} ms; last error: ${detail}`);
  if (lastError instanceof XdsCallError) Object.assign(e, { code: lastError.code, details: lastError.details });
  throw e;
}

/** A child process running a grpc-js-xds client that dials `target` (e.g. 'xds:///greeter.default.svc.cluster.local:50051'). */
export async function startXdsClient(o: XdsBootstrapOptions & { target: string; xdsCredentials?: boolean }): Promise<XdsClientProcess> {
  const { conn } = await startChild(`xds-client ${o.nodeId}`, {
    GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(renderTestBootstrap(o)),
    XDS_APP_MODE: 'client',
    XDS_APP_TARGET: o.target,
    XDS_APP_XDS_CREDS: o.xdsCredentials ? '1' : '0',
  });

  const call = async (opts: CallOptions = {}): Promise<string> => {
    const reply = await conn.request({ op: 'call', ...opts });
    if (reply.ok !== true) throw callError(reply);
    return String(reply.reply);
  };

  return {
    pid: conn.pid,
    call,
    async callMany(count, opts = {}) {
      const reply = await conn.request({ op: 'callMany', count, ...opts });
      if (reply.ok !== true) throw callError(reply);
      return reply.tally as CallTally;
    },
    async load(opts) {
      const reply = await conn.request({ op: 'load', load: opts });
      if (reply.ok !== true) throw callError(reply);
      return reply.report as LoadReport;
    },
    callUntilOk: (timeoutMs = 15_000, opts = {}) => callUntilOk(call, () => conn.hasExited, timeoutMs, opts),
    async connectivityState() {
      const reply = await conn.request({ op: 'state' });
      return String(reply.state);
    },
    close: () => conn.close(),
    kill: () => conn.kill(),
  };
}

// ---------------------------------------------------------------------------------------------
// xDS-enabled server child

export interface ServingStatus {
  code: grpc.status;
  details: string;
}

export interface XdsServerProcess {
  /** the port bound on 127.0.0.1 (the Listener must carry socket_address 127.0.0.1:port) */
  port: number;
  /** 127.0.0.1:port */
  address: string;
  /** the listener resource name it asks for (the template with %s = 127.0.0.1:port) */
  listenerName: string;
  readonly pid: number;
  /** resolves once serving status is OK (it got a valid Listener); rejects after timeoutMs with the last status */
  waitServing(timeoutMs?: number): Promise<void>;
  /** latest serving status, number of calls served, and attempts received per call key (metadata x-call-id; '' without one) */
  status(): Promise<{ serving: ServingStatus; calls: number; attempts: Record<string, number> }>;
  /** From now on, behave so with every call (replaces the previous behaviour; {} answers every call at once). */
  behave(behaviour: ServerBehaviour): Promise<void>;
  /** Forget the calls and attempts counted so far. */
  reset(): Promise<void>;
  close(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * A child process running an xDS-enabled grpc-js server (XdsServer) serving Greeter, bound as 127.0.0.1:port.
 * Resolves once bindAsync was called (not when serving: that needs the Listener from the control plane).
 *
 * grpc-js-xds 1.14 quirks: XdsServer refuses port 0, so the child picks a free port on 127.0.0.1
 * (unless `port` is given) and binds that; the TCP port is only opened once a valid Listener arrived,
 * and it is then opened on all interfaces (`*:port`: XdsServer passes only the port to net.listen).
 * The Listener's address.socket_address must be exactly { address: '127.0.0.1', port_value: port }.
 */
export async function startXdsServer(
  o: XdsBootstrapOptions & { name: string; port?: number; xdsCredentials?: boolean; behaviour?: ServerBehaviour },
): Promise<XdsServerProcess> {
  const template = o.serverListenerTemplate ?? DEFAULT_SERVER_LISTENER_TEMPLATE;
  const { conn, ready } = await startChild(`xds-server ${o.name}`, {
    GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(renderTestBootstrap({ ...o, serverListenerTemplate: template })),
    XDS_APP_MODE: 'server',
    XDS_APP_NAME: o.name,
    XDS_APP_PORT: String(o.port ?? 0),
    XDS_APP_XDS_CREDS: o.xdsCredentials ? '1' : '0',
    XDS_APP_BEHAVIOUR: JSON.stringify(o.behaviour ?? {}),
  });
  const port = Number(ready.port);
  const address = `127.0.0.1:${port}`;
  let last: ServingStatus = { code: grpc.status.UNAVAILABLE, details: 'Not yet serving' };
  const waiters = new Set<() => void>();
  conn.onEvent((m) => {
    if (m.event === 'serving') {
      last = { code: Number(m.code), details: typeof m.details === 'string' ? m.details : '' };
      for (const w of waiters) w();
    }
  });
  return {
    port,
    address,
    listenerName: template.replace('%s', address),
    pid: conn.pid,
    waitServing(timeoutMs = 15_000) {
      return new Promise<void>((res, rej) => {
        const check = (): void => {
          if (last.code === grpc.status.OK) done(undefined);
          else if (conn.hasExited) done(new Error(`${address}: server child exited before serving`));
        };
        const timer = setTimeout(() => done(new Error(`${address}: not serving after ${timeoutMs} ms; last status ${last.code}: ${last.details}`)), timeoutMs);
        const done = (err: Error | undefined): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) rej(err);
          else res();
        };
        waiters.add(check);
        void conn.exited.then(check);
        check();
      });
    },
    async status() {
      const reply = await conn.request({ op: 'status' });
      return { serving: reply.serving as ServingStatus, calls: Number(reply.calls), attempts: (reply.attempts ?? {}) as Record<string, number> };
    },
    async behave(behaviour) {
      await conn.request({ op: 'behave', behaviour });
    },
    async reset() {
      await conn.request({ op: 'reset' });
    },
    close: () => conn.close(),
    kill: () => conn.kill(),
  };
}
