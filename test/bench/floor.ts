/**
 * The floor: a bare grpc-js server, no Trellis code, serving the same ADS methods to the same
 * clients. Every response is a Buffer built once and written unchanged to every stream: all
 * streams get the same nonce, so there is no per-stream encoding at all. Requests are read only
 * for their type URL and nonce (lean-wire.ts readRequest); an ACK is a request carrying the nonce
 * of the change. Resource bytes are encoded with protobufjs from the Envoy protos (loaded as the
 * test client loads them), from the same plain objects the Trellis server encodes, so a change's
 * response carries the same resource bytes as Trellis's.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServerOptions } from '../../src/xds/server.ts';
import { adsProtos } from '../support/ads-client-protos.ts';
import {
  CDS,
  EDS,
  claMessage,
  clusterMessage,
  clusterName,
  cpuSeconds,
  exitWithParent,
  now,
  paramsFromEnv,
  answer,
  send,
  type ServerCommand,
} from './config.ts';
import { deltaResponse, encodeAny, encodeResource, readRequest, sotwResponse } from './lean-wire.ts';
import { gcLog, memoryReport } from './memory.ts';
import { createHash } from 'node:crypto';
import { rawStreamingMethod, whenGone } from '../support/raw-method.ts';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const params = paramsFromEnv();
exitWithParent();

const root = adsProtos().root;
function encode(typeUrl: string, obj: object): Uint8Array {
  const type = root.lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  return type.encode(type.fromObject(obj)).finish();
}

/** A 32-hex-digit version like Trellis's content hashes. */
function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

interface Encoded {
  readonly name: string;
  readonly version: string;
  readonly any: Buffer;
  readonly resource: Buffer;
}

function encodedResource(typeUrl: string, name: string, obj: object): Encoded {
  const bytes = encode(typeUrl, obj);
  const version = versionOf(bytes);
  return { name, version, any: encodeAny(typeUrl, bytes), resource: encodeResource(name, version, encodeAny(typeUrl, bytes)) };
}

const built = performance.now();
const clusters: Encoded[] = [];
const cla: Encoded[] = [];
for (let i = 0; i < params.clusters; i++) {
  clusters.push(encodedResource(CDS, clusterName(i), clusterMessage(i)));
  cla.push(encodedResource(EDS, clusterName(i), claMessage(i, params.endpoints, 0)));
}
const VERSION0 = '0'.repeat(32);
/** The initial full responses, one per type and protocol, built once. */
const initial = {
  sotw: {
    [CDS]: sotwResponse(
      VERSION0,
      clusters.map((c) => c.any),
      CDS,
      'init',
    ),
    [EDS]: sotwResponse(
      VERSION0,
      cla.map((c) => c.any),
      EDS,
      'init',
    ),
  },
  delta: {
    [CDS]: deltaResponse(
      VERSION0,
      clusters.map((c) => c.resource),
      CDS,
      'init',
    ),
    [EDS]: deltaResponse(
      VERSION0,
      cla.map((c) => c.resource),
      EDS,
      'init',
    ),
  },
} as const;
const buildMs = performance.now() - built;

type Call = grpc.ServerDuplexStream<Buffer, Buffer>;
const live = { sotw: new Set<Call>(), delta: new Set<Call>() };

interface Waiting {
  readonly change: number;
  readonly nonce: string;
  readonly cpu0: NodeJS.CpuUsage;
  readonly target: number;
  acks: number;
  /** ms spent writing the response to every stream. */
  setMs: number;
}
let waiting: Waiting | undefined;

function handler(protocol: 'sotw' | 'delta'): (call: Call) => void {
  const delta = protocol === 'delta';
  return (call) => {
    call.on('data', (buf: Buffer) => {
      const req = readRequest(buf, delta);
      const w = waiting;
      if (req.nonce === '') {
        const full = req.typeUrl === CDS ? initial[protocol][CDS] : req.typeUrl === EDS ? initial[protocol][EDS] : undefined;
        if (full) call.write(full);
        if (req.typeUrl === EDS) live[protocol].add(call);
      } else if (w && req.nonce === w.nonce && ++w.acks === w.target) {
        waiting = undefined;
        send({ ev: 'changed', change: w.change, cpu: cpuSeconds(process.cpuUsage(w.cpu0)), encodes: 0, setMs: w.setMs, lastAckAt: now(), acks: w.acks });
      }
    });
    whenGone(call, () => void live[protocol].delete(call));
  };
}

const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => rawStreamingMethod(`${SERVICE}/${name}`);

const server = new grpc.Server(adsServerOptions());
server.addService(
  { StreamAggregatedResources: method('StreamAggregatedResources'), DeltaAggregatedResources: method('DeltaAggregatedResources') },
  { StreamAggregatedResources: handler('sotw'), DeltaAggregatedResources: handler('delta') },
);
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
});

/** What a change sends, built once: one ClusterLoadAssignment, as SotW and as delta (sizes reported). */
function changeResponses(index: number, version: number, nonce: string): { sotw: Buffer; delta: Buffer } {
  const r = encodedResource(EDS, clusterName(index), claMessage(index, params.endpoints, version));
  return { sotw: sotwResponse(r.version, [r.any], EDS, nonce), delta: deltaResponse(r.version, [r.resource], EDS, nonce) };
}

const sample = changeResponses(0, 1, 'c0');
send({ ev: 'listening', port, buildMs, external: false, sotwChangeBytes: sample.sotw.length, deltaChangeBytes: sample.delta.length });

function change(msg: Extract<ServerCommand, { cmd: 'change' }>): void {
  const cpu0 = process.cpuUsage();
  const nonce = `c${msg.change}`;
  const built = changeResponses(msg.index, msg.version, nonce);
  const t = performance.now();
  waiting = { change: msg.change, nonce, cpu0, target: msg.acks, acks: 0, setMs: 0 };
  for (const call of live.sotw) call.write(built.sotw);
  for (const call of live.delta) call.write(built.delta);
  waiting.setMs = performance.now() - t;
}

process.on('message', (raw: unknown) => {
  const msg = raw as ServerCommand;
  switch (msg.cmd) {
    case 'memory':
      answer(memoryReport(live.sotw.size + live.delta.size), (m) => ({ ev: 'memory', ...m }));
      break;
    case 'cpu':
      send({ ev: 'cpu', seconds: cpuSeconds(process.cpuUsage()) });
      break;
    case 'change':
      change(msg);
      break;
    case 'gc-log':
      answer(gcLog(), (pauses) => ({ ev: 'gc-log', pauses }));
      break;
    case 'settle':
      send({ ev: 'error', message: 'the floor reports a change once it has seen the ACKs; it is not told to settle' });
      break;
    case 'heap-snapshot':
    case 'profile-start':
    case 'profile-stop':
      send({ ev: 'error', message: 'the floor server is not profiled' });
      break;
    case 'exit':
      server.forceShutdown();
      process.exit(0);
  }
});
