/**
 * Child process of the demo: the applications behind the mesh's gRPC services, one gRPC server per
 * pod, each bound to its own 127.0.x.y on the example's port. They are plain grpc-js servers: what
 * the demo shows happens in the proxyless clients, and grpc-js-xds's XdsServer listens on every
 * interface whatever address it is given, so the four catalog pods could not share port 50051.
 *
 * env DEMO_APPS: the apps as JSON (mesh.ts DemoApp[]). Prints `{"ready":true}` once every server is
 * bound; exits when stdin closes (the demo ended or died).
 */
import * as grpc from '@grpc/grpc-js';
import { CALL_ID, FAIL_FIRST, shopService, type CallReply, type CallRequest } from './proto.ts';
import type { DemoApp } from './mesh.ts';

function handler(app: DemoApp) {
  const attempts = new Map<string, number>();
  return (call: grpc.ServerUnaryCall<CallRequest, CallReply>, callback: grpc.sendUnaryData<CallReply>): void => {
    const key = String(call.metadata.get(CALL_ID)[0] ?? '');
    const attempt = key === '' ? 1 : (attempts.get(key) ?? 0) + 1;
    if (call.metadata.get(FAIL_FIRST)[0] === '1' && attempt === 1) {
      attempts.set(key, attempt);
      callback({ code: grpc.status.UNAVAILABLE, details: `${app.pod}: first attempt of ${key} fails by design` });
      return;
    }
    attempts.delete(key);
    callback(null, { pod: app.pod, version: app.version, attempt });
  };
}

async function bind(server: grpc.Server, app: DemoApp): Promise<void> {
  await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${app.ip}:${app.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

async function main(): Promise<void> {
  const apps = JSON.parse(process.env.DEMO_APPS ?? '[]') as DemoApp[];
  const Shop = shopService();
  const servers = apps.map((app) => {
    const server = new grpc.Server();
    server.addService(Shop.service, { Call: handler(app) });
    return { app, server };
  });
  await Promise.all(servers.map(({ app, server }) => bind(server, app).catch((err: unknown) => Promise.reject(new Error(`${app.pod}: ${String(err)}`)))));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.stdout.write(JSON.stringify({ ready: true, servers: apps.map((a) => `${a.pod}@${a.ip}:${a.port}`) }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo servers: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
