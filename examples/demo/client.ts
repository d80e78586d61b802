/**
 * Child process of the demo: one proxyless gRPC application (grpc-js-xds), which takes its
 * configuration from Trellis through the bootstrap in GRPC_XDS_BOOTSTRAP_CONFIG (read once per
 * process: each client is a process of its own) and calls the mesh's services by `xds:///` targets.
 *
 * Protocol: JSON lines. It prints `{"ready":true}`, then answers each command read from stdin:
 *   {id, op:'load', target, count, concurrency, rate, deadlineMs, metadata}  → {id, ok:true, calls:[…]}
 * with every call's status, the pod and version that answered, the attempt and the time it took.
 * In metadata values `{i}` is the call's index and `{i%N}` the index modulo N. At most `rate` calls
 * start per second. It exits when stdin closes (the demo ended or died).
 */
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { shopService, type CallReply, type CallRequest } from './proto.ts';
import type { CallOutcome, LoadCommand } from './traffic.ts';

xds.register();

type ShopClient = grpc.Client & {
  Call(req: CallRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: CallReply) => void): grpc.ClientUnaryCall;
};

const Shop = shopService();
const clients = new Map<string, ShopClient>();
const from = process.env.DEMO_CLIENT ?? 'client';

function clientFor(target: string): ShopClient {
  let c = clients.get(target);
  if (!c) {
    c = new Shop(target, grpc.credentials.createInsecure()) as unknown as ShopClient;
    clients.set(target, c);
  }
  return c;
}

function metadataOf(template: Readonly<Record<string, string>>, i: number): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(template)) {
    md.set(
      k,
      v.replace(/\{i(?:%(\d+))?\}/g, (_m, mod: string | undefined) => String(mod === undefined ? i : i % Number(mod))),
    );
  }
  return md;
}

function call(client: ShopClient, cmd: LoadCommand, i: number): Promise<CallOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    client.Call({ from }, metadataOf(cmd.metadata, i), { deadline: Date.now() + cmd.deadlineMs }, (err, reply) => {
      const ms = Math.round(performance.now() - started);
      if (err || !reply) resolve({ i, code: grpc.status[err?.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN', details: err?.details ?? '', ms });
      else resolve({ i, code: 'OK', pod: reply.pod, version: reply.version, attempt: reply.attempt, ms });
    });
  });
}

/** `count` calls, `concurrency` at a time, call i starting no sooner than i/rate seconds in. */
async function load(cmd: LoadCommand): Promise<CallOutcome[]> {
  const client = clientFor(cmd.target);
  const started = performance.now();
  const out: CallOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cmd.count) {
      const i = next++;
      const wait = started + (i * 1000) / cmd.rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      out.push(await call(client, cmd, i));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(cmd.concurrency, cmd.count)) }, worker));
  return out.sort((a, b) => a.i - b.i);
}

function send(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

process.stdout.on('error', () => process.exit(0));
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  const cmd = JSON.parse(line) as LoadCommand & { id: number };
  load(cmd).then(
    (calls) => send({ id: cmd.id, ok: true, calls }),
    (err: unknown) => send({ id: cmd.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
rl.on('close', () => {
  for (const c of clients.values()) c.close();
  process.exit(0);
});
send({ ready: true, pid: process.pid });
