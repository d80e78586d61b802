/**
 * Child process for test/support/xds-app.ts: one grpc-js-xds client or one xDS-enabled server per
 * process, because grpc-js-xds reads its bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG) once per process.
 *
 * Run as `node --import tsx test/support/xds-app-child.ts` with env:
 *   GRPC_XDS_BOOTSTRAP_CONFIG  the bootstrap JSON
 *   XDS_APP_MODE               'client' | 'server'
 *   XDS_APP_TARGET             (client) the target to dial, e.g. xds:///greeter.default.svc.cluster.local:50051
 *   XDS_APP_NAME               (server) the name put in replies (`${name}:${request.name}`)
 *   XDS_APP_PORT               (server) the port to bind on 127.0.0.1; 0 or unset = pick a free one
 *   XDS_APP_XDS_CREDS          '1' to use XdsChannelCredentials / XdsServerCredentials (insecure fallback)
 *   XDS_APP_BEHAVIOUR          (server) the initial ServerBehaviour as JSON (test/support/xds-traffic.ts)
 *
 * Protocol: JSON lines. The child prints `{"ready":true,...}` once started, then answers each command
 * read from stdin (`{id, op, ...}`) with `{id, ok:true, ...}` or `{id, ok:false, code, details}`.
 * The server child also prints `{"event":"serving", code, details}` whenever its serving status changes.
 * Clients answer `call`, `callMany` (a tally), `load` (every call: status, server, elapsed time) and
 * `state`; servers answer `status` (with the attempts per call key), `behave` and `reset`.
 * The child exits when stdin closes (the parent closed it or died).
 */
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as xds from '@grpc/grpc-js-xds';
import { releasedLoopbackPort } from './ports.js';
import {
  CALL_KEY,
  attemptOutcome,
  callMetadata,
  failureDetails,
  loadReport,
  serverOf,
  statusName,
  type CallResult,
  type LoadOptions,
  type LoadReport,
  type ServerBehaviour,
} from './xds-traffic.js';

type Json = Record<string, unknown>;

const GREETER_PROTO = join(dirname(fileURLToPath(import.meta.url)), 'proto', 'greeter.proto');

function send(msg: Json): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function die(message: string, code = 1): never {
  process.stderr.write(`[xds-app-child] ${message}\n`);
  process.exit(code);
}

// No orphans: the parent holds our stdin; when it closes (parent exit, crash or SIGKILL) we go.
// A broken stdout pipe means the parent is gone too.
process.stdout.on('error', () => process.exit(0));
process.on('uncaughtException', (err) => die(`uncaught: ${err.stack ?? String(err)}`));
process.on('unhandledRejection', (err) => die(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));

function loadGreeter(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(GREETER_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def).helloworld as grpc.GrpcObject;
  return pkg.Greeter as grpc.ServiceClientConstructor;
}

interface HelloRequest {
  name: string;
}
interface HelloReply {
  message: string;
}

function errorFields(err: unknown): { code: number; details: string } {
  const e = err as Partial<grpc.ServiceError> | undefined;
  return { code: typeof e?.code === 'number' ? e.code : grpc.status.UNKNOWN, details: e?.details ?? (err instanceof Error ? err.message : String(err)) };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function onCommands(handler: (cmd: Json) => void | Promise<void>): void {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let cmd: Json;
    try {
      cmd = JSON.parse(line) as Json;
    } catch {
      process.stderr.write(`[xds-app-child] ignoring non-JSON command: ${line}\n`);
      return;
    }
    Promise.resolve(handler(cmd)).catch((err: unknown) => send({ id: cmd.id, ok: false, ...errorFields(err) }));
  });
  rl.on('close', () => process.exit(0));
}

function exitAfterReply(id: unknown): void {
  process.stdout.write(JSON.stringify({ id, ok: true, closed: true }) + '\n', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// client

type GreeterClient = grpc.Client & {
  SayHello(req: HelloRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
};

function sayHello(
  client: GreeterClient,
  name: string,
  deadlineMs: number,
  waitForReady: boolean,
  headers: Record<string, string> | undefined,
): Promise<string> {
  const md = new grpc.Metadata({ waitForReady });
  for (const [k, v] of Object.entries(headers ?? {})) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.SayHello({ name }, md, { deadline: Date.now() + deadlineMs }, (err, reply) => {
      if (err) reject(err);
      else resolve(reply?.message ?? '');
    });
  });
}

/** One call of a load, timed; never rejects. */
async function timedCall(client: GreeterClient, i: number, o: LoadOptions): Promise<CallResult> {
  const started = performance.now();
  try {
    const message = await sayHello(client, o.name ?? 'hello', o.deadlineMs ?? 5000, o.waitForReady === true, callMetadata(o.metadata, i));
    return { i, code: 'OK', elapsedMs: performance.now() - started, ...optional('server', serverOf({ message })) };
  } catch (err) {
    const { code, details } = errorFields(err);
    return { i, code: statusName(code), elapsedMs: performance.now() - started, details, ...optional('server', serverOf({ details })) };
  }
}

/** `count` calls, `concurrency` at a time (all started in the same tick when count ≤ concurrency), none started after `timeLimitMs`. */
async function load(client: GreeterClient, o: LoadOptions): Promise<LoadReport> {
  const started = performance.now();
  const end = started + (o.timeLimitMs ?? 60_000);
  const results: CallResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count && performance.now() < end) results.push(await timedCall(client, next++, o));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 1, o.count)) }, worker));
  return loadReport(results, performance.now() - started);
}

interface CallCommand {
  readonly name: string;
  readonly deadlineMs: number;
  readonly waitForReady: boolean;
  readonly headers: Record<string, string> | undefined;
}

function callCommand(cmd: Json): CallCommand {
  return {
    name: typeof cmd.name === 'string' ? cmd.name : 'hello',
    deadlineMs: typeof cmd.deadlineMs === 'number' ? cmd.deadlineMs : 5000,
    waitForReady: cmd.waitForReady === true,
    headers: (cmd.metadata ?? undefined) as Record<string, string> | undefined,
  };
}

/** `count` calls, `concurrency` at a time, tallied by reply and by error. */
async function callMany(
  client: GreeterClient,
  c: CallCommand,
  count: number,
  concurrency: number,
): Promise<{ ok: Record<string, number>; errors: Record<string, number> }> {
  const ok: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        const reply = await sayHello(client, c.name, c.deadlineMs, c.waitForReady, c.headers);
        ok[reply] = (ok[reply] ?? 0) + 1;
      } catch (err) {
        const { code, details } = errorFields(err);
        // Deadline details carry the elapsed time ("Deadline exceeded after 0.301s,..."):
        // drop it so equal failures tally under one key.
        const key = `${code}: ${details.replace(/ after \d+(?:\.\d+)?s/, '')}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { ok, errors };
}

async function clientCommand(client: GreeterClient, cmd: Json): Promise<void> {
  const id = cmd.id;
  const c = callCommand(cmd);
  switch (cmd.op) {
    case 'call':
      try {
        send({ id, ok: true, reply: await sayHello(client, c.name, c.deadlineMs, c.waitForReady, c.headers) });
      } catch (err) {
        send({ id, ok: false, ...errorFields(err) });
      }
      return;
    case 'callMany': {
      const count = typeof cmd.count === 'number' ? cmd.count : 1;
      const concurrency = Math.max(1, typeof cmd.concurrency === 'number' ? cmd.concurrency : 1);
      send({ id, ok: true, tally: await callMany(client, c, count, concurrency) });
      return;
    }
    case 'load':
      send({ id, ok: true, report: await load(client, cmd.load as LoadOptions) });
      return;
    case 'state':
      send({ id, ok: true, state: grpc.connectivityState[client.getChannel().getConnectivityState(false)] });
      return;
    case 'close':
      client.close();
      exitAfterReply(id);
      return;
    default:
      send({ id, ok: false, code: grpc.status.INVALID_ARGUMENT, details: `unknown op ${String(cmd.op)}` });
  }
}

function runClient(): void {
  const target = process.env.XDS_APP_TARGET ?? die('XDS_APP_TARGET is not set');
  const Greeter = loadGreeter();
  const creds = process.env.XDS_APP_XDS_CREDS === '1' ? new xds.XdsChannelCredentials(grpc.credentials.createInsecure()) : grpc.credentials.createInsecure();
  const client = new Greeter(target, creds) as unknown as GreeterClient;
  onCommands((cmd) => clientCommand(client, cmd));
  send({ ready: true, mode: 'client', pid: process.pid, target });
}

// ---------------------------------------------------------------------------------------------
// server

/** What a server counts and how it behaves now. */
interface ServerState {
  calls: number;
  behaviour: ServerBehaviour;
  /** Attempts received per call key (metadata x-call-id; '' without one). */
  attempts: Map<string, number>;
}

/** SayHello: count the attempt under its call key, then answer `${name}:${request.name}` or fail, as the behaviour says. */
function sayHelloHandler(name: string, state: ServerState) {
  return (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>): void => {
    state.calls++;
    const key = String(call.metadata.get(CALL_KEY)[0] ?? '');
    const attempt = (state.attempts.get(key) ?? 0) + 1;
    state.attempts.set(key, attempt);
    const outcome = attemptOutcome(state.behaviour, attempt);
    const answer = (): void => {
      if (outcome.code !== undefined) callback({ code: outcome.code, details: failureDetails(name, attempt) });
      else callback(null, { message: `${name}:${call.request.name}` });
    };
    if (outcome.delayMs > 0) setTimeout(answer, outcome.delayMs);
    else answer();
  };
}

function initialBehaviour(): ServerBehaviour {
  const raw = process.env.XDS_APP_BEHAVIOUR;
  return raw ? (JSON.parse(raw) as ServerBehaviour) : {};
}

async function runServer(): Promise<void> {
  const name = process.env.XDS_APP_NAME ?? 'xds-server';
  const Greeter = loadGreeter();
  // XdsServer refuses port 0 ("must have the format IP:port with non-zero port"), so pick a free one.
  const port = Number(process.env.XDS_APP_PORT ?? '0') || (await releasedLoopbackPort());
  const address = `127.0.0.1:${port}`;
  const server = new xds.XdsServer();
  const state: ServerState = { calls: 0, behaviour: initialBehaviour(), attempts: new Map() };
  server.addService(Greeter.service, { SayHello: sayHelloHandler(name, state) });
  const creds =
    process.env.XDS_APP_XDS_CREDS === '1' ? new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()) : grpc.ServerCredentials.createInsecure();
  // The callback fires only when the port starts serving, i.e. after the listener arrived from the
  // control plane; errors before that are reported through the serving-status listener instead.
  server.bindAsync(address, creds, () => undefined);
  let serving: { code: number; details: string } = { code: grpc.status.UNAVAILABLE, details: 'Not yet serving' };
  server.addServingStateListener(address, (status) => {
    serving = { code: status.code, details: status.details };
    send({ event: 'serving', ...serving });
  });

  onCommands((cmd) => {
    switch (cmd.op) {
      case 'status':
        send({ id: cmd.id, ok: true, serving, calls: state.calls, attempts: Object.fromEntries(state.attempts) });
        return;
      case 'behave':
        state.behaviour = cmd.behaviour ?? {};
        send({ id: cmd.id, ok: true });
        return;
      case 'reset':
        state.calls = 0;
        state.attempts.clear();
        send({ id: cmd.id, ok: true });
        return;
      case 'close':
        server.forceShutdown();
        exitAfterReply(cmd.id);
        return;
      default:
        send({ id: cmd.id, ok: false, code: grpc.status.INVALID_ARGUMENT, details: `unknown op ${String(cmd.op)}` });
    }
  });

  send({ ready: true, mode: 'server', pid: process.pid, port, address });
}

// ---------------------------------------------------------------------------------------------

xds.register();
const mode = process.env.XDS_APP_MODE;
if (mode === 'client') runClient();
else if (mode === 'server') await runServer();
else die(`XDS_APP_MODE must be 'client' or 'server', got ${String(mode)}`);
