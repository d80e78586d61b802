/**
 * What every bench process shares: the parameters, the generated configuration (names and plain
 * resource objects, the same shapes as test/support/resources.ts builds), the shared clock and
 * the IPC message shapes. No runtime import of Trellis code: the floor server uses this too.
 */
import type { ResourceMessage } from '../../src/envoy/types.ts';

export type Protocol = 'sotw' | 'delta';

export interface BenchParams {
  /** Simulated ADS clients (one stream each). */
  readonly clients: number;
  /** Clusters (and as many ClusterLoadAssignments). */
  readonly clusters: number;
  /** Endpoints per ClusterLoadAssignment. */
  readonly endpoints: number;
  /** Measured changes per phase. */
  readonly changes: number;
  /** Unmeasured changes before them (JIT and buffer warm-up). */
  readonly warmup: number;
  /** Streams multiplexed over one HTTP/2 connection on the client side. */
  readonly streamsPerChannel: number;
}

export const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

export const PROXY_CLASS = 'bench';

/**
 * Cluster names as a mesh names them (Istio-style `outbound|port||host`), about 44 bytes each: exactly
 * the names go-control-plane's peer server (gocp-ads) serves, so the same clients subscribe to all three.
 */
export function clusterName(i: number): string {
  return `outbound|80||svc${i}.bench.svc.cluster.local`;
}

export function clusterNames(k: number): string[] {
  return Array.from({ length: k }, (_, i) => clusterName(i));
}

/**
 * The cluster every change changes, in every implementation: svc0, the one gocp-ads's `GET /change` can
 * change. Every client subscribes to every cluster, so which one changes does not alter any server's work.
 */
export const CHANGED_INDEX = 0;

export function clusterMessage(i: number): ResourceMessage<'cluster'> {
  const name = clusterName(i);
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: 1 },
  };
}

/** Endpoint addresses of cluster `i` at `version`: version 0 is the initial state, each change bumps it. */
export function endpointAddress(i: number, e: number, version: number): { address: string; port: number } {
  const n = i * 64 + e + version * 7;
  return { address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 8080 };
}

export function claMessage(i: number, endpoints: number, version: number): ResourceMessage<'endpoint'> {
  return {
    cluster_name: clusterName(i),
    endpoints: [
      {
        // The shape gocp-ads serves (locality zone "z", no weight), so every server sends the same bytes' worth.
        locality: { zone: 'z' },
        lb_endpoints: Array.from({ length: endpoints }, (_, e) => {
          const a = endpointAddress(i, e, version);
          return { endpoint: { address: { socket_address: { address: a.address, port_value: a.port } } } };
        }),
      },
    ],
  };
}

/** Milliseconds on a clock shared by every process on this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

// ---- IPC: orchestrator → server/floor ----

export type ServerCommand =
  | { readonly cmd: 'memory' }
  /** The server process's CPU seconds so far (user + system). */
  | { readonly cmd: 'cpu' }
  | { readonly cmd: 'change'; readonly change: number; readonly index: number; readonly version: number; readonly acks: number }
  | { readonly cmd: 'heap-snapshot'; readonly path: string }
  /** For a server that cannot see ACKs (`external`): the clients converged on `change`; answer with 'changed'. */
  | { readonly cmd: 'settle'; readonly change: number }
  | { readonly cmd: 'gc-log' }
  | { readonly cmd: 'profile-start' }
  | { readonly cmd: 'profile-stop'; readonly path: string }
  | { readonly cmd: 'exit' };

export interface MemoryReport {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly streams: number;
}

export type ServerEvent =
  | {
      readonly ev: 'listening';
      readonly port: number;
      readonly buildMs: number;
      /**
       * A process measured from outside (go-control-plane): it sees no ACKs, so it answers a change with 'changed'
       * only once told 'settle', and it reports NaN for what only the process itself knows (ACK times, heap, GC, encodes).
       */
      readonly external: boolean;
      readonly sotwChangeBytes?: number;
      readonly deltaChangeBytes?: number;
    }
  | ({ readonly ev: 'memory' } & MemoryReport)
  | { readonly ev: 'cpu'; readonly seconds: number }
  | {
      readonly ev: 'changed';
      readonly change: number;
      /** Server CPU seconds from receiving the change to processing the last expected ACK. */
      readonly cpu: number;
      /** cache.encodes delta (0 for the floor). */
      readonly encodes: number;
      /** ms from the change to every stream's response written: cache.set with its fan-out (Trellis), the write loop (floor). */
      readonly setMs: number;
      /** Shared-clock time the server processed the last expected ACK. */
      readonly lastAckAt: number;
      readonly acks: number;
    }
  | { readonly ev: 'heap-snapshot'; readonly path: string }
  /** Garbage-collection pauses since start: [start on the shared clock, duration] in ms. */
  | { readonly ev: 'gc-log'; readonly pauses: readonly (readonly [number, number])[] }
  | { readonly ev: 'profile-started' }
  | { readonly ev: 'profiled'; readonly path: string }
  | { readonly ev: 'error'; readonly message: string };

// ---- IPC: orchestrator → clients ----

export type ClientCommand =
  /** `burst`: every stream opened at once (the cold start); otherwise one connection's streams at a time. */
  | { readonly cmd: 'connect'; readonly port: number; readonly protocol: Protocol; readonly burst: boolean }
  | { readonly cmd: 'expect'; readonly change: number; readonly name: string }
  | { readonly cmd: 'close' };

export type ClientEvent =
  | {
      readonly ev: 'ready';
      /** From the connect command to the last stream's initial configuration (CDS and EDS) ACKed. */
      readonly setupMs: number;
      readonly streams: number;
      readonly setupBytes: number;
      /** Per stream: from opening it to having ACKed its initial CDS and EDS responses, ms. */
      readonly perClientMs: readonly number[];
    }
  | { readonly ev: 'expecting'; readonly change: number; readonly lateResponses: number }
  | {
      readonly ev: 'converged';
      readonly change: number;
      /** Shared-clock time the last of the N ACKs was written. */
      readonly lastAckAt: number;
      /** Sum over all streams of the serialized response sizes received for this change. */
      readonly bytes: number;
      readonly responses: number;
      /** Client process CPU seconds from 'expect' to convergence. */
      readonly clientCpu: number;
    }
  | { readonly ev: 'closed' }
  | { readonly ev: 'error'; readonly message: string };

export function paramsFromEnv(): BenchParams {
  const raw = process.env.TRELLIS_BENCH_PARAMS;
  if (!raw) throw new Error('TRELLIS_BENCH_PARAMS is not set (this process is started by test/bench/run.ts)');
  return JSON.parse(raw) as BenchParams;
}

/** Sends an IPC message; the process exits when its parent is gone. */
export function send(msg: ServerEvent | ClientEvent): void {
  if (!process.send || !process.connected) process.exit(3);
  process.send(msg);
}

/** Answers a command with the event its work resolves to, or with an error event. */
export function answer<T>(work: Promise<T>, event: (result: T) => ServerEvent | ClientEvent): void {
  work.then((r) => send(event(r))).catch((err: unknown) => send({ ev: 'error', message: String(err) }));
}

/** Children exit when the orchestrator goes away (IPC disconnect). */
export function exitWithParent(): void {
  if (!process.send) throw new Error('this process must be started by test/bench/run.ts (no IPC channel)');
  process.on('disconnect', () => process.exit(4));
}
