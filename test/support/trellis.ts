/**
 * An in-process ADS server on 127.0.0.1:0 with its own cache, for protocol tests. Events the
 * server reports are exposed as promises, so tests wait for them instead of sleeping.
 */
import { EventEmitter, once } from 'node:events';
import { pino } from 'pino';
import type { ResourceKind } from '../../src/envoy/types.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { AdsServer } from '../../src/xds/server.ts';
import type { NodeInfo } from '../../src/envoy/node.ts';
import type { XdsObserver } from '../../src/xds/status.ts';

export interface TestServer {
  readonly cache: SnapshotCache;
  readonly server: AdsServer;
  readonly address: string;
  /** Server events: 'opened', 'closed', 'pushed', 'acked', 'nacked', 'rejected' (with their arguments). */
  readonly events: EventEmitter;
  readonly counts: Record<'pushed' | 'acked' | 'nacked' | 'closed' | 'opened', number>;
  readonly rejected: string[];
  /** Warnings and errors the server logged, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Resolves on the next event of that name. */
  next(event: 'opened' | 'closed' | 'pushed' | 'acked' | 'nacked' | 'rejected' | 'demanded'): Promise<unknown[]>;
  close(): Promise<void>;
}

export async function startTestServer(opts?: {
  classify?: (node: NodeInfo) => string | undefined;
  /** Also emitted as the 'demanded' event. */
  onDemand?: (proxyClass: string) => void;
  maxRequestBytes?: number;
  maxNamesPerType?: number;
  maxNodeIdLength?: number;
  maxNodeMetadataBytes?: number;
  maxNamesPerStream?: number;
  maxNamesServer?: number;
}): Promise<TestServer> {
  const cache = new SnapshotCache();
  const events = new EventEmitter();
  const counts = { pushed: 0, acked: 0, nacked: 0, closed: 0, opened: 0 };
  const rejected: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const logSink = { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) };
  const observer: XdsObserver = {
    streamOpened: (p) => {
      counts.opened++;
      events.emit('opened', p);
    },
    streamClosed: (p) => {
      counts.closed++;
      events.emit('closed', p);
    },
    pushed: (kind: ResourceKind, p, bytes) => {
      counts.pushed++;
      events.emit('pushed', kind, p, bytes);
    },
    acked: (kind, s) => {
      counts.acked++;
      events.emit('acked', kind, s);
    },
    nacked: (kind, id, msg, rejected) => {
      counts.nacked++;
      events.emit('nacked', kind, id, msg, rejected);
    },
    rejected: (reason) => {
      rejected.push(reason);
      events.emit('rejected', reason);
    },
  };
  const server = new AdsServer({
    cache,
    classify: opts?.classify ?? (() => 'default'),
    logger: process.env.TRELLIS_TEST_VERBOSE ? pino({ level: 'debug' }) : pino({ level: 'warn' }, logSink),
    observer,
    onDemand: (cls) => {
      opts?.onDemand?.(cls);
      events.emit('demanded', cls);
    },
    ...(opts?.maxRequestBytes ? { maxRequestBytes: opts.maxRequestBytes } : {}),
    ...(opts?.maxNamesPerType ? { maxNamesPerType: opts.maxNamesPerType } : {}),
    ...(opts?.maxNamesPerStream ? { maxNamesPerStream: opts.maxNamesPerStream } : {}),
    ...(opts?.maxNamesServer ? { maxNamesServer: opts.maxNamesServer } : {}),
    ...(opts?.maxNodeIdLength ? { maxNodeIdLength: opts.maxNodeIdLength } : {}),
    ...(opts?.maxNodeMetadataBytes ? { maxNodeMetadataBytes: opts.maxNodeMetadataBytes } : {}),
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    cache,
    server,
    address: `127.0.0.1:${port}`,
    events,
    counts,
    rejected,
    logs,
    next: (event) => once(events, event),
    close: () => server.close(),
  };
}
