/**
 * The Trellis side of the bench: a SnapshotCache with K clusters and K ClusterLoadAssignments for
 * one proxy class, served by an AdsServer on 127.0.0.1:0. On 'change' it sets a new snapshot in
 * which one cluster's endpoints differ, and reports the server CPU used and the resources encoded
 * from then until the expected number of ACKs has been processed. Run with --expose-gc.
 */
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import type { DesiredResource } from '../../src/envoy/resources.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { NO_OBSERVER, type XdsObserver } from '../../src/xds/status.ts';
import {
  PROXY_CLASS,
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
import { gcLog, memoryReport } from './memory.ts';
import { startProfile, stopProfile } from './profile.ts';

const params = paramsFromEnv();
exitWithParent();

interface Waiting {
  readonly change: number;
  readonly cpu0: NodeJS.CpuUsage;
  readonly encodes0: number;
  readonly acks0: number;
  readonly target: number;
  readonly setMs: number;
}

let acks = 0;
let waiting: Waiting | undefined;

const cache = new SnapshotCache();
const observer: XdsObserver = {
  ...NO_OBSERVER,
  acked: () => {
    acks++;
    const w = waiting;
    if (w && acks - w.acks0 >= w.target) {
      waiting = undefined;
      const cpu = cpuSeconds(process.cpuUsage(w.cpu0));
      send({ ev: 'changed', change: w.change, cpu, encodes: cache.encodes - w.encodes0, setMs: w.setMs, lastAckAt: now(), acks: acks - w.acks0 });
    }
  },
  nacked: (_kind, proxy, message) => send({ ev: 'error', message: `NACK from ${proxy}: ${message}` }),
  rejected: (reason) => send({ ev: 'error', message: `request rejected: ${reason}` }),
};

const built = performance.now();
const clusters: DesiredResource<'cluster'>[] = [];
let endpoints: DesiredResource<'endpoint'>[] = [];
for (let i = 0; i < params.clusters; i++) {
  const svc = { kind: 'Service', namespace: 'bench', name: `svc-${i}` };
  clusters.push({ name: clusterName(i), message: clusterMessage(i), sources: [svc] });
  endpoints.push({ name: clusterName(i), message: claMessage(i, params.endpoints, 0), sources: [{ ...svc, kind: 'EndpointSlice' }] });
}
const errors = cache.set(PROXY_CLASS, { cluster: clusters, endpoint: endpoints });
if (errors.length > 0) throw new Error(`snapshot did not encode: ${errors[0]?.message ?? ''}`);
cache.markReady();
const buildMs = performance.now() - built;

const server = new AdsServer({ cache, classify: () => PROXY_CLASS, logger: pino({ level: 'silent' }), observer });
const port = await server.listen('127.0.0.1', 0);
send({ ev: 'listening', port, buildMs, external: false });

function change(msg: Extract<ServerCommand, { cmd: 'change' }>): void {
  const cpu0 = process.cpuUsage();
  const encodes0 = cache.encodes;
  const acks0 = acks;
  const old = endpoints[msg.index];
  if (!old) throw new Error(`no cluster ${msg.index}`);
  // A new object for the changed resource only, as a translator that reuses unchanged objects produces,
  // in a new list: the cache takes a list handed to it as it is from then on (it knows the list it
  // built by its identity), as translation hands it a new list whenever one element changed.
  endpoints = endpoints.map((e, i) => (i === msg.index ? { ...old, message: claMessage(msg.index, params.endpoints, msg.version) } : e));
  const t = performance.now();
  // Until set() returns, streams only mark and write; the ACKs arrive on later turns of the loop.
  waiting = { change: msg.change, cpu0, encodes0, acks0, target: msg.acks, setMs: 0 };
  const errs = cache.set(PROXY_CLASS, { cluster: clusters, endpoint: endpoints });
  if (errs.length > 0) send({ ev: 'error', message: errs[0]?.message ?? 'encode error' });
  if (waiting) waiting = { ...waiting, setMs: performance.now() - t };
}

process.on('message', (raw: unknown) => {
  const msg = raw as ServerCommand;
  switch (msg.cmd) {
    case 'memory':
      answer(memoryReport(server.connected), (m) => ({ ev: 'memory', ...m }));
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
      send({ ev: 'error', message: 'the Trellis server reports a change once it has seen the ACKs; it is not told to settle' });
      break;
    case 'heap-snapshot':
      send({ ev: 'heap-snapshot', path: writeHeapSnapshot(msg.path) });
      break;
    case 'profile-start':
      answer(startProfile(), () => ({ ev: 'profile-started' }));
      break;
    case 'profile-stop':
      answer(stopProfile(msg.path), () => ({ ev: 'profiled', path: msg.path }));
      break;
    case 'exit':
      void server.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 3000).unref();
      break;
  }
});
