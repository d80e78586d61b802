/**
 * The floor of the SDS bench (sds.ts): a bare grpc-js server, no Trellis code, on the same TLS as
 * Trellis's secure port, serving the same clients. Each stream that asks for Secrets gets one
 * response built once (`ROOTCA` and `default`); on `go`, one response built once with the new
 * `ROOTCA` (and the same `default`) is written unchanged to every stream, all with the same nonce, and
 * the server counts the ACKs. It is what the existing bench's floor (floor.ts) does for endpoints:
 * no per-stream or per-identity work at all.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { adsServerOptions } from '../../src/xds/server.ts';
import { adsProtos } from '../support/ads-client-protos.ts';
import { SDS } from '../support/resources.ts';
import { rawStreamingMethod, whenGone } from '../support/raw-method.ts';
import { Commands, cpuSince, sendEvent } from './child-ipc.ts';
import { encodeAny, readRequest, sotwResponse } from './lean-wire.ts';

export interface SdsFloorTask {
  /** The server's certificate chain and key (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  /** The `default` Secret every stream gets. */
  readonly defaultChainPem: string;
  readonly defaultKeyPem: string;
  /** `ROOTCA` before and after the change. */
  readonly bundlePem: string;
  readonly nextBundlePem: string;
  /** ACKs of the change to wait for (the streams). */
  readonly streams: number;
}

export type SdsFloorCommand = { readonly cmd: 'mark' } | { readonly cmd: 'go' } | { readonly cmd: 'stop' };

export type SdsFloorEvent =
  | { readonly ev: 'ready'; readonly port: number }
  /** Ready to measure: the garbage of what came before collected (with --expose-gc). */
  | { readonly ev: 'marked' }
  /** Every stream ACKed the change: the CPU the server spent from `go`, and the ms it took to write the response to every stream. */
  | { readonly ev: 'acked'; readonly cpuSeconds: number; readonly writeMs: number; readonly bytes: number }
  | { readonly ev: 'error'; readonly message: string };

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

const raw = process.env.TRELLIS_SDS_FLOOR_TASK;
if (!raw) throw new Error('TRELLIS_SDS_FLOOR_TASK is not set');
const task = JSON.parse(raw) as SdsFloorTask;
const commands = new Commands<SdsFloorCommand>('sds-floor.ts');
const send = (e: SdsFloorEvent): Promise<void> => sendEvent(e);

const secretType = adsProtos().root.lookupType(SDS.slice(SDS.lastIndexOf('/') + 1));
const secretAny = (obj: object): Buffer => encodeAny(SDS, secretType.encode(secretType.fromObject(obj)).finish());

/** A SotW Secrets response: ROOTCA with `bundlePem`, `default` the same each time; the version a digest of the bytes. */
function response(bundlePem: string, nonce: string): Buffer {
  const anys = [
    secretAny({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: bundlePem } } }),
    secretAny({
      name: 'default',
      tls_certificate: { certificate_chain: { inline_string: task.defaultChainPem }, private_key: { inline_string: task.defaultKeyPem } },
    }),
  ];
  const version = createHash('sha256').update(Buffer.concat(anys)).digest('hex').slice(0, 32);
  return sotwResponse(version, anys, SDS, nonce);
}

const initial = response(task.bundlePem, 'init');
const CHANGE_NONCE = 'c1';
const changed = response(task.nextBundlePem, CHANGE_NONCE);

type Call = grpc.ServerDuplexStream<Buffer, Buffer>;
const live = new Set<Call>();
let waiting: { acks: number; cpu0: NodeJS.CpuUsage; writeMs: number } | undefined;

function handler(call: Call): void {
  call.on('data', (buf: Buffer) => {
    const req = readRequest(buf, false);
    if (req.typeUrl !== SDS) return;
    if (req.nonce === '') {
      call.write(initial);
      live.add(call);
      return;
    }
    const w = waiting;
    if (w && req.nonce === CHANGE_NONCE && ++w.acks === task.streams) {
      waiting = undefined;
      void send({ ev: 'acked', cpuSeconds: cpuSince(w.cpu0), writeMs: w.writeMs, bytes: changed.length });
    }
  });
  whenGone(call, () => void live.delete(call));
}

const server = new grpc.Server(adsServerOptions());
server.addService({ StreamAggregatedResources: rawStreamingMethod(`${SERVICE}/StreamAggregatedResources`) }, { StreamAggregatedResources: handler });
const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(task.certPem), private_key: Buffer.from(task.keyPem) }], false);

async function main(): Promise<void> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  await send({ ev: 'ready', port });
  await commands.next('mark');
  (globalThis as { gc?: () => void }).gc?.();
  await send({ ev: 'marked' });
  await commands.next('go');
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  waiting = { acks: 0, cpu0, writeMs: 0 };
  for (const call of live) call.write(changed);
  waiting.writeMs = performance.now() - t;
  await commands.next('stop');
  server.forceShutdown();
}

main()
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    await send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  });
