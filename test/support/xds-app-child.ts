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
 *
 * Protocol: JSON lines. The child prints `{"ready":true,...}` once started, then answers each command
 * read from stdin (`{id, op, ...}`) with `{id, ok:true, ...}` or `{id, ok:false, code, details}`.
 * The server child also prints `{"event":"serving", code, details}` whenever its serving status changes.
 * The child exits when stdin closes (the parent closed it or died).
 */
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as xds from '@grpc/grpc-js-xds';
import { releasedLoopbackPort } from './ports.js';

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

function runClient(): void {
  const target = process.env.XDS_APP_TARGET ?? die('XDS_APP_TARGET is not set');
  const Greeter = loadGreeter();
  const creds = process.env.XDS_APP_XDS_CREDS === '1'
    ? new xds.XdsChannelCredentials(grpc.credentials.createInsecure())
    : grpc.credentials.createInsecure();
  const client = new Greeter(target, creds) as unknown as grpc.Client & {
    SayHello(req: HelloRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
  };

  function sayHello(name: string, deadlineMs: number, waitForReady: boolean, headers: Record<string, string> | undefined): Promise<string> {
    const md = new grpc.Metadata({ waitForReady });
    for (const [k, v] of Object.entries(headers ?? {})) md.set(k, v);
    return new Promise((resolve, reject) => {
      client.SayHello({ name }, md, { deadline: Date.now() + deadlineMs }, (err, reply) => {
        if (err) reject(err);
        else resolve(reply?.message ?? '');
      });
    });
  }

  onCommands(async (cmd) => {
    const id = cmd.id;
    const deadlineMs = typeof cmd.deadlineMs === 'number' ? cmd.deadlineMs : 5000;
    const waitForReady = cmd.waitForReady === true;
    const headers = (cmd.metadata ?? undefined) as Record<string, string> | undefined;
    const name = typeof cmd.name === 'string' ? cmd.name : 'hello';
    switch (cmd.op) {
      case 'call': {
        try {
          send({ id, ok: true, reply: await sayHello(name, deadlineMs, waitForReady, headers) });
        } catch (err) {
          send({ id, ok: false, ...errorFields(err) });
        }
        return;
      }
      case 'callMany': {
        const count = typeof cmd.count === 'number' ? cmd.count : 1;
        const concurrency = Math.max(1, typeof cmd.concurrency === 'number' ? cmd.concurrency : 1);
        const ok: Record<string, number> = {};
        const errors: Record<string, number> = {};
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < count) {
            next++;
            try {
              const reply = await sayHello(name, deadlineMs, waitForReady, headers);
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
        send({ id, ok: true, tally: { ok, errors } });
        return;
      }
      case 'state': {
        send({ id, ok: true, state: grpc.connectivityState[client.getChannel().getConnectivityState(false)] });
        return;
      }
      case 'close': {
        client.close();
        exitAfterReply(id);
        return;
      }
      default:
        send({ id, ok: false, code: grpc.status.INVALID_ARGUMENT, details: `unknown op ${String(cmd.op)}` });
    }
  });

  send({ ready: true, mode: 'client', pid: process.pid, target });
}

// ---------------------------------------------------------------------------------------------
// server


async function runServer(): Promise<void> {
  const name = process.env.XDS_APP_NAME ?? 'xds-server';
  const Greeter = loadGreeter();
  // XdsServer refuses port 0 ("must have the format IP:port with non-zero port"), so pick a free one.
  const port = Number(process.env.XDS_APP_PORT ?? '0') || (await releasedLoopbackPort());
  const address = `127.0.0.1:${port}`;
  const server = new xds.XdsServer();
  let calls = 0;
  server.addService(Greeter.service, {
    SayHello(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      calls++;
      callback(null, { message: `${name}:${call.request.name}` });
    },
  });
  const creds = process.env.XDS_APP_XDS_CREDS === '1'
    ? new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure())
    : grpc.ServerCredentials.createInsecure();
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
        send({ id: cmd.id, ok: true, serving, calls });
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
