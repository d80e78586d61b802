/**
 * The sidecars of `npm run bench:kube -- --proxies N`, in a process of their own (forked by kube-proxies.ts
 * through children.ts): N state-of-the-world ADS streams, each an Envoy sidecar of a distinct Pod of the mesh
 * (node.id `<pod>.<namespace>`, PROXY_MODE sidecar, NAMESPACE, POD_NAME, SERVICE_ACCOUNT, INSTANCE_IP), so each
 * is a proxy class of its own. Each subscribes as Envoy does (envoy-subscriber.ts) and ACKs every response at
 * once. `streamsPerConnection` streams share one HTTP/2 connection (1: each proxy its own, as real sidecars).
 *
 * Commands (IPC, in order): connect → 'synced' once every stream is synced (or at the timeout, incomplete);
 * expect (a resource name and an address) → 'expecting', then 'converged' once every stream has received and
 * ACKed the resource with that address (or at the timeout); close → 'closed'. Times are on the shared clock.
 */
import * as grpc from '@grpc/grpc-js';
import { Commands, cpuSince, sendEvent } from './child-ipc.ts';
import { EDS, now } from './config.ts';
import { addressNeedle, encodeNode, EnvoySubscriber, NameSets, type SidecarNode, type Watch } from './envoy-subscriber.ts';

const METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const identity = (b: Buffer): Buffer => b;

export type FleetCommand =
  | {
      readonly cmd: 'connect';
      readonly address: string;
      readonly nodes: readonly SidecarNode[];
      readonly streamsPerConnection: number;
      readonly timeoutMs: number;
    }
  | { readonly cmd: 'expect'; readonly change: number; readonly cluster: string; readonly address: string; readonly timeoutMs: number }
  | { readonly cmd: 'close' };

export type FleetEvent =
  | { readonly ev: 'loaded' }
  | {
      readonly ev: 'synced';
      /** Shared-clock time the first stream was opened. */
      readonly openedAt: number;
      /** Per stream: shared-clock time it became synced (NaN: not by the timeout). */
      readonly syncedAt: readonly number[];
      readonly complete: boolean;
      readonly responses: number;
      readonly bytes: number;
      /** Distinct EDS / RDS name sets among the streams, and the size of the first stream's. */
      /** Streams that ended with an error and were opened again, and the first few errors. */
      readonly reconnects: number;
      readonly errors: readonly string[];
      readonly edsSets: number;
      readonly edsNames: number;
      readonly rdsSets: number;
      readonly rdsNames: number;
      readonly clientCpu: number;
    }
  | { readonly ev: 'expecting'; readonly change: number; readonly subscribed: number }
  | {
      readonly ev: 'converged';
      readonly change: number;
      /** Per stream: shared-clock time it ACKed the watched version (NaN: not by the timeout). */
      readonly ackedAt: readonly number[];
      readonly complete: boolean;
      readonly reconnects: number;
      readonly responses: number;
      readonly bytes: number;
      readonly clientCpu: number;
    }
  | { readonly ev: 'closed' }
  | { readonly ev: 'error'; readonly message: string };

const send = (e: FleetEvent): Promise<void> => sendEvent(e);

interface Wait {
  readonly at: number[];
  remaining: number;
  readonly done: () => void;
}

class Stream {
  readonly sub: EnvoySubscriber;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private closing = false;

  constructor(
    private readonly fleet: Fleet,
    readonly index: number,
    readonly channel: grpc.Client,
    readonly node: SidecarNode,
  ) {
    this.sub = new EnvoySubscriber(encodeNode(node), fleet.sets);
    this.sub.watch = fleet.watch;
    this.call = channel.makeBidiStreamRequest<Buffer, Buffer>(METHOD, identity, identity);
    this.call.on('data', (buf: Buffer) => this.onData(buf));
    this.call.on('error', (err: grpc.ServiceError) => {
      if (this.closing) return;
      this.closing = true;
      fleet.dropped(this, `stream ${index} (${node.id}): ${err.message}`);
    });
    this.call.write(this.sub.start());
  }

  private onData(buf: Buffer): void {
    const f = this.fleet;
    if (this.closing) return;
    f.responses++;
    f.bytes += buf.length;
    let h;
    try {
      h = this.sub.handle(buf);
    } catch (err) {
      f.fail(`stream ${this.index}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const r of h.requests) this.call.write(r);
    const at = now();
    const sync = f.syncWait;
    if (sync && Number.isNaN(sync.at[this.index]) && this.sub.synced) f.mark(sync, this.index, at);
    const change = f.changeWait;
    if (change && h.watched && Number.isNaN(change.at[this.index])) f.mark(change, this.index, at);
  }

  close(): void {
    this.closing = true;
    this.call.cancel();
  }
}

class Fleet {
  readonly sets = new NameSets();
  readonly streams: Stream[] = [];
  readonly channels: grpc.Client[] = [];
  responses = 0;
  bytes = 0;
  /** Streams that ended with an error and were opened again (as Envoy does), and the first few errors. */
  reconnects = 0;
  readonly errors: string[] = [];
  syncWait: Wait | undefined;
  /** What every stream, including one opened again, watches for. */
  watch: Watch | undefined;
  changeWait: Wait | undefined;
  private failed = false;

  mark(w: Wait, i: number, at: number): void {
    w.at[i] = at;
    if (--w.remaining === 0) w.done();
  }

  /**
   * A stream ended with an error: it is opened again after 500 ms on its channel (which reconnects), a new
   * subscriber from scratch, as Envoy's ADS does after its back-off. A stream that had synced counts as not synced again.
   */
  dropped(s: Stream, message: string): void {
    this.reconnects++;
    if (this.errors.length < 5) this.errors.push(message);
    const w = this.syncWait;
    if (w && !Number.isNaN(w.at[s.index])) {
      w.at[s.index] = Number.NaN;
      w.remaining++;
    }
    setTimeout(() => {
      if (this.closed || this.streams[s.index] !== s) return;
      this.streams[s.index] = new Stream(this, s.index, s.channel, s.node);
    }, 500);
  }

  fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    void send({ ev: 'error', message });
  }

  private closed = false;

  close(): void {
    this.closed = true;
    for (const s of this.streams) s.close();
    for (const c of this.channels) c.close();
  }
}

/** Resolves when `w` is done or after `timeoutMs`, whichever comes first; says which. */
function waitFor(make: (done: () => void) => Wait, timeoutMs: number): { wait: Wait; settled: Promise<boolean> } {
  let wait: Wait | undefined;
  const settled = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    wait = make(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!wait) throw new Error('unreachable');
  return { wait, settled };
}

const newWait = (n: number, done: () => void): Wait => ({ at: new Array<number>(n).fill(Number.NaN), remaining: n, done });

async function connect(fleet: Fleet, cmd: Extract<FleetCommand, { cmd: 'connect' }>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const n = cmd.nodes.length;
  const { wait, settled } = waitFor((done) => newWait(n, done), cmd.timeoutMs);
  fleet.syncWait = wait;
  const openedAt = now();
  const perConnection = Math.max(1, cmd.streamsPerConnection);
  for (let first = 0; first < n; first += perConnection) {
    // Each channel its own HTTP/2 connection (grpc-js shares subchannels between equal channels otherwise).
    const channel = new grpc.Client(cmd.address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 1024 * 1024 * 1024,
    });
    fleet.channels.push(channel);
    for (let i = first; i < Math.min(n, first + perConnection); i++) {
      const node = cmd.nodes[i];
      if (node) fleet.streams.push(new Stream(fleet, i, channel, node));
    }
  }
  const complete = await settled;
  fleet.syncWait = undefined;
  const first = fleet.streams[0]?.sub;
  await send({
    ev: 'synced',
    openedAt,
    syncedAt: wait.at,
    complete,
    responses: fleet.responses,
    bytes: fleet.bytes,
    reconnects: fleet.reconnects,
    errors: fleet.errors,
    edsSets: new Set(fleet.streams.map((s) => s.sub.edsNames)).size,
    edsNames: first?.edsNames?.names.length ?? 0,
    rdsSets: new Set(fleet.streams.map((s) => s.sub.rdsNames)).size,
    rdsNames: first?.rdsNames?.names.length ?? 0,
    clientCpu: cpuSince(cpu0),
  });
}

async function expectChange(fleet: Fleet, cmd: Extract<FleetCommand, { cmd: 'expect' }>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const [responses0, bytes0, reconnects0] = [fleet.responses, fleet.bytes, fleet.reconnects];
  const subscribed = fleet.streams.filter((s) => s.sub.edsNames?.index.has(cmd.cluster)).length;
  const { wait, settled } = waitFor((done) => newWait(fleet.streams.length, done), cmd.timeoutMs);
  const watch = { typeUrl: EDS, name: cmd.cluster, needle: addressNeedle(cmd.address) };
  fleet.watch = watch;
  for (const s of fleet.streams) s.sub.watch = watch;
  fleet.changeWait = wait;
  await send({ ev: 'expecting', change: cmd.change, subscribed });
  const complete = await settled;
  fleet.changeWait = undefined;
  fleet.watch = undefined;
  for (const s of fleet.streams) s.sub.watch = undefined;
  await send({
    ev: 'converged',
    change: cmd.change,
    ackedAt: wait.at,
    complete,
    reconnects: fleet.reconnects - reconnects0,
    responses: fleet.responses - responses0,
    bytes: fleet.bytes - bytes0,
    clientCpu: cpuSince(cpu0),
  });
}

async function main(): Promise<void> {
  const commands = new Commands<FleetCommand>('kube-fleet.ts');
  const fleet = new Fleet();
  await send({ ev: 'loaded' });
  const connectCmd = await commands.next('connect');
  if (connectCmd.cmd !== 'connect') return;
  await connect(fleet, connectCmd);
  for (;;) {
    const c = await commands.any();
    if (c.cmd === 'expect') await expectChange(fleet, c);
    else if (c.cmd === 'close') {
      fleet.close();
      await send({ ev: 'closed' });
      process.exit(0);
    } else throw new Error(`unexpected command ${c.cmd}`);
  }
}

main().catch(async (err: unknown) => {
  await send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
