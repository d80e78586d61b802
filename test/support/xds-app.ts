/**
 * Test harness for end-to-end xDS tests: plain Greeter backends in this process, and grpc-js-xds
 * clients / xDS-enabled servers in child processes (grpc-js-xds reads its bootstrap once per
 * process, so each one needs its own). The child is test/support/xds-app-child.ts.
 *
 * Set TRELLIS_TEST_VERBOSE=1 to see the children's stderr (e.g. with GRPC_TRACE=xds_client,xds_resolver
 * GRPC_VERBOSITY=DEBUG, which the children inherit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const CHILD_SCRIPT = join(here, 'xds-app-child.ts');
export const GREETER_PROTO = join(here, 'proto', 'greeter.proto');
/** Default listener name template for xDS-enabled servers (gRFC A36). */
export const DEFAULT_SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

const verbose = process.env.TRELLIS_TEST_VERBOSE === '1';
const STDERR_TAIL_LINES = 50;
const STARTUP_TIMEOUT_MS = 30_000;
const CLOSE_KILL_AFTER_MS = 3_000;

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

type Json = Record<string, unknown>;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Belt and braces: the children also exit when their stdin closes.
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

function tsxImport(): string {
  // `node --import tsx` resolves `tsx` from the cwd; resolve it from here instead so any cwd works.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** A running child speaking the JSON-lines protocol of xds-app-child.ts. */
class ChildConnection {
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private readonly pending = new Map<number, { resolve: (m: Json) => void; reject: (e: Error) => void }>();
  private readonly eventListeners = new Set<(m: Json) => void>();
  private nextId = 1;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  readonly ready: Promise<Json>;

  constructor(
    readonly label: string,
    env: Record<string, string>,
  ) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.GRPC_XDS_BOOTSTRAP; // it would take precedence over GRPC_XDS_BOOTSTRAP_CONFIG
    this.child = spawn(process.execPath, ['--import', tsxImport(), CHILD_SCRIPT], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(this.child);
    this.exited = new Promise<void>((res) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        const err = new Error(`${this.label}: child exited (${this.describeExit()})${this.tailText()}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        res();
      });
    });
    // Writing to a child that died raises EPIPE on stdin; the exit handler reports it.
    this.child.stdin?.on('error', () => undefined);

    createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      if (verbose) process.stderr.write(`[${this.label}] ${line}\n`);
    });

    let onReady!: (m: Json) => void;
    this.ready = new Promise<Json>((res, rej) => {
      const timer = setTimeout(() => {
        rej(new Error(`${this.label}: not ready after ${STARTUP_TIMEOUT_MS} ms${this.tailText()}`));
      }, STARTUP_TIMEOUT_MS);
      onReady = (m) => {
        clearTimeout(timer);
        res(m);
      };
      void this.exited.then(() => {
        clearTimeout(timer);
        rej(new Error(`${this.label}: child exited before it was ready (${this.describeExit()})${this.tailText()}`));
      });
    });
    this.ready.catch(() => undefined);

    createInterface({ input: this.child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      let msg: Json;
      try {
        msg = JSON.parse(line) as Json;
      } catch {
        // not ours (something printed to stdout): keep it with the stderr tail for diagnostics
        this.stderrTail.push(`(stdout) ${line}`);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        if (verbose) process.stderr.write(`[${this.label} stdout] ${line}\n`);
        return;
      }
      if (msg.ready === true) {
        onReady(msg);
      } else if (typeof msg.id === 'number') {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg);
      } else if (typeof msg.event === 'string') {
        for (const l of this.eventListeners) l(msg);
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  private describeExit(): string {
    const e = this.exitInfo;
    return e ? (e.signal ? `signal ${e.signal}` : `code ${String(e.code)}`) : 'running';
  }

  private tailText(): string {
    return this.stderrTail.length ? `\n--- last ${this.stderrTail.length} lines of stderr ---\n${this.stderrTail.join('\n')}` : '';
  }

  /** Send a command; resolves with the child's reply line. */
  request(cmd: Json): Promise<Json> {
    if (this.exitInfo) return Promise.reject(new Error(`${this.label}: child has exited (${this.describeExit()})${this.tailText()}`));
    const id = this.nextId++;
    return new Promise<Json>((res, rej) => {
      this.pending.set(id, { resolve: res, reject: rej });
      this.child.stdin!.write(JSON.stringify({ ...cmd, id }) + '\n');
    });
  }

  onEvent(listener: (m: Json) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Ask the child to close and exit; SIGKILL it after 3 s; resolves once it has exited. */
  async close(): Promise<void> {
    if (!this.exitInfo) {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_KILL_AFTER_MS);
      this.request({ op: 'close' }).catch(() => undefined);
      this.child.stdin!.end();
      await this.exited;
      clearTimeout(kill);
    }
  }

  /** Kill without asking (for tests of control-plane behaviour when a client vanishes). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.exitInfo) this.child.kill(signal);
    await this.exited;
  }
}

async function startChild(label: string, env: Record<string, string>): Promise<{ conn: ChildConnection; ready: Json }> {
  const conn = new ChildConnection(label, env);
  try {
    return { conn, ready: await conn.ready };
  } catch (err) {
    await conn.kill();
    throw err;
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
  return new XdsCallError(typeof reply.code === 'number' ? reply.code : grpc.status.UNKNOWN, String(reply.details ?? ''));
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
    async callUntilOk(timeoutMs = 15_000, opts = {}) {
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
          if (conn.hasExited) throw err;
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
    },
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
  code: number;
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
  /** latest serving status and number of calls served */
  status(): Promise<{ serving: ServingStatus; calls: number }>;
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
export async function startXdsServer(o: XdsBootstrapOptions & { name: string; port?: number; xdsCredentials?: boolean }): Promise<XdsServerProcess> {
  const template = o.serverListenerTemplate ?? DEFAULT_SERVER_LISTENER_TEMPLATE;
  const { conn, ready } = await startChild(`xds-server ${o.name}`, {
    GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(renderTestBootstrap({ ...o, serverListenerTemplate: template })),
    XDS_APP_MODE: 'server',
    XDS_APP_NAME: o.name,
    XDS_APP_PORT: String(o.port ?? 0),
    XDS_APP_XDS_CREDS: o.xdsCredentials ? '1' : '0',
  });
  const port = Number(ready.port);
  const address = `127.0.0.1:${port}`;
  let last: ServingStatus = { code: grpc.status.UNAVAILABLE, details: 'Not yet serving' };
  const waiters = new Set<() => void>();
  conn.onEvent((m) => {
    if (m.event === 'serving') {
      last = { code: Number(m.code), details: String(m.details ?? '') };
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
      return { serving: reply.serving as ServingStatus, calls: Number(reply.calls) };
    },
    close: () => conn.close(),
    kill: () => conn.kill(),
  };
}
