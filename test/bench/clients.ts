/**
 * The simulated proxies: N ADS streams in one process, multiplexed over a few HTTP/2 connections.
 * Each stream subscribes as Envoy does (CDS wildcard, then EDS for every cluster it learnt), ACKs
 * every response at once, and reads only the response envelope (lean-wire.ts), so that this
 * process is not what the bench measures. Started by run.ts; talks to it over IPC.
 */
import * as grpc from '@grpc/grpc-js';
import { CDS, EDS, clusterNames, cpuSeconds, exitWithParent, now, paramsFromEnv, send, type ClientCommand, type Protocol } from './config.ts';
import { deltaRequest, encodeNames, readResponse, sotwRequest } from './lean-wire.ts';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const params = paramsFromEnv();
exitWithParent();

const identity = (b: Buffer): Buffer => b;

interface Expectation {
  readonly change: number;
  readonly name: Buffer;
  readonly cpu0: NodeJS.CpuUsage;
  converged: number;
  bytes: number;
  responses: number;
  done: boolean;
}

/** Per-run state shared by the streams. */
class Fleet {
  readonly streams: BenchStream[] = [];
  readonly channels: grpc.Client[] = [];
  readonly delta: boolean;
  /** Every cluster name as field 3 of a request: SotW ACKs of EDS carry the whole subscription, as Envoy's do. */
  readonly edsNames: Buffer;
  expectation: Expectation | undefined;
  lateResponses = 0;
  setupBytes = 0;
  failed = false;

  constructor(
    readonly address: string,
    readonly protocol: Protocol,
  ) {
    this.delta = protocol === 'delta';
    this.edsNames = encodeNames(3, clusterNames(params.clusters));
  }

  converged(s: BenchStream): void {
    const exp = this.expectation;
    if (!exp || s.converged === exp.change) return;
    s.converged = exp.change;
    exp.converged++;
    if (exp.converged === this.streams.length) {
      const lastAckAt = now();
      exp.done = true;
      send({
        ev: 'converged',
        change: exp.change,
        lastAckAt,
        bytes: exp.bytes,
        responses: exp.responses,
        clientCpu: cpuSeconds(process.cpuUsage(exp.cpu0)),
      });
    }
  }

  fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    send({ ev: 'error', message });
  }
}

class BenchStream {
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private gotCds = false;
  private edsResources = 0;
  ready = false;
  /** Shared-clock times the stream was opened and had ACKed its initial CDS and EDS. */
  readonly openedAt = now();
  readyAt = NaN;
  converged = -1;
  private closing = false;

  constructor(
    private readonly fleet: Fleet,
    channel: grpc.Client,
    private readonly id: number,
    private readonly onReady: () => void,
  ) {
    const method = fleet.delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources';
    this.call = channel.makeBidiStreamRequest<Buffer, Buffer>(`${SERVICE}/${method}`, identity, identity);
    this.call.on('data', (buf: Buffer) => this.onData(buf));
    this.call.on('error', (err: grpc.ServiceError) => {
      if (!this.closing) fleet.fail(`stream ${id}: ${err.message}`);
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      if (!this.closing && s.code !== grpc.status.OK) fleet.fail(`stream ${id} ended: ${s.code} ${s.details}`);
    });
    const nodeId = `bench-proxy-${id}`;
    this.call.write(fleet.delta ? deltaRequest({ nodeId, typeUrl: CDS }) : sotwRequest({ nodeId, typeUrl: CDS }));
  }

  private onData(buf: Buffer): void {
    const fleet = this.fleet;
    const exp = fleet.expectation;
    if (!this.ready) fleet.setupBytes += buf.length;
    else if (exp && !exp.done) {
      exp.bytes += buf.length;
      exp.responses++;
    } else fleet.lateResponses++;
    const res = readResponse(buf, fleet.delta, this.ready && exp && !exp.done ? exp.name : undefined);
    if (res.typeUrl === CDS) {
      if (!this.gotCds) {
        // Envoy creates the clusters, which then ask for their endpoints.
        this.gotCds = true;
        this.call.write(fleet.delta ? deltaRequest({ typeUrl: EDS, subscribe: fleet.edsNames }) : sotwRequest({ typeUrl: EDS, names: fleet.edsNames }));
      }
      this.call.write(fleet.delta ? deltaRequest({ typeUrl: CDS, nonce: res.nonce }) : sotwRequest({ typeUrl: CDS, version: res.version, nonce: res.nonce }));
      return;
    }
    if (res.typeUrl !== EDS) {
      fleet.fail(`stream ${this.id}: unexpected response type ${res.typeUrl}`);
      return;
    }
    this.call.write(
      fleet.delta
        ? deltaRequest({ typeUrl: EDS, nonce: res.nonce })
        : sotwRequest({ typeUrl: EDS, version: res.version, nonce: res.nonce, names: fleet.edsNames }),
    );
    if (!this.ready) {
      this.edsResources += res.count;
      if (this.edsResources >= params.clusters) {
        this.ready = true;
        this.readyAt = now();
        this.onReady();
      }
      return;
    }
    if (res.matched) fleet.converged(this);
  }

  close(): void {
    this.closing = true;
    this.call.cancel();
  }
}

let fleet: Fleet | undefined;

/** Opens the N streams: one connection's at a time, or (`burst`, the cold start) all at once. */
async function connect(port: number, protocol: Protocol, burst: boolean): Promise<void> {
  const started = now();
  const f = new Fleet(`127.0.0.1:${port}`, protocol);
  fleet = f;
  const perChannel = Math.max(1, params.streamsPerChannel);
  const opening: Promise<void>[] = [];
  for (let first = 0; first < params.clients && !f.failed; first += perChannel) {
    // Each channel its own HTTP/2 connection (grpc-js shares subchannels between equal channels otherwise).
    const channel = new grpc.Client(f.address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 512 * 1024 * 1024,
    });
    f.channels.push(channel);
    const count = Math.min(perChannel, params.clients - first);
    // Paced: one channel's streams at a time, which keeps the set-up's transient buffers bounded on both sides.
    const open = new Promise<void>((resolve) => {
      let ready = 0;
      for (let k = 0; k < count; k++) {
        f.streams.push(
          new BenchStream(f, channel, first + k, () => {
            if (++ready === count) resolve();
          }),
        );
      }
    });
    opening.push(open);
    if (!burst) await open;
  }
  await Promise.all(opening);
  if (f.failed) return;
  const perClientMs = f.streams.map((s) => s.readyAt - s.openedAt);
  send({ ev: 'ready', setupMs: now() - started, streams: f.streams.length, setupBytes: f.setupBytes, perClientMs });
}

process.on('message', (raw: unknown) => {
  const msg = raw as ClientCommand;
  switch (msg.cmd) {
    case 'connect':
      connect(msg.port, msg.protocol, msg.burst).catch((err: unknown) => send({ ev: 'error', message: String(err) }));
      break;
    case 'expect': {
      const f = fleet;
      if (!f) return;
      const late = f.lateResponses;
      f.lateResponses = 0;
      f.expectation = { change: msg.change, name: Buffer.from(msg.name), cpu0: process.cpuUsage(), converged: 0, bytes: 0, responses: 0, done: false };
      send({ ev: 'expecting', change: msg.change, lateResponses: late });
      break;
    }
    case 'close': {
      const f = fleet;
      if (f) {
        for (const s of f.streams) s.close();
        for (const c of f.channels) c.close();
      }
      send({ ev: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
    }
  }
});
