/**
 * go-control-plane as a bench server: launches gocp-ads (envoyproxy/go-control-plane v0.12.0's server and
 * caches; gocp-peer.ts finds it) on two free loopback ports with the bench's K clusters and E endpoints and
 * the cache named by TRELLIS_BENCH_GOCP_CACHE (linear or snapshot), and answers the orchestrator as
 * server.ts and floor.ts do. The Go process is measured from outside: RSS from /proc/<pid>/status, CPU from
 * /proc/<pid>/stat; a change is its `GET /change` (svc0 gets new endpoint addresses, see CHANGED_INDEX).
 * It cannot see ACKs: it says so in 'listening' (`external`), and answers a change with 'changed' when the
 * orchestrator, once the clients converged, sends 'settle'; ACK times, heap, GC and encodes are NaN.
 */
import { releasedLoopbackPort } from '../support/ports.ts';
import { httpOk, launch, LogTail, pollUntil, retryOnPortClash, terminate, type Proc } from '../support/processes.ts';
import { CHANGED_INDEX, exitWithParent, paramsFromEnv, send, type MemoryReport, type ServerCommand } from './config.ts';
import { sendEvent } from './child-ipc.ts';
import { cpuSeconds, procBytes } from '../support/proc.ts';
import { gocpBinary, type GocpCache } from './gocp-peer.ts';

const params = paramsFromEnv();
exitWithParent();

const cacheKind = process.env.TRELLIS_BENCH_GOCP_CACHE;
if (cacheKind !== 'linear' && cacheKind !== 'snapshot') {
  throw new Error(`TRELLIS_BENCH_GOCP_CACHE must be linear or snapshot, not ${String(cacheKind)}`);
}

interface Peer {
  readonly proc: Proc;
  readonly pid: number;
  readonly xdsPort: number;
  readonly http: string;
}

async function start(cache: GocpCache): Promise<Peer> {
  const bin = gocpBinary();
  const log = new LogTail(`gocp-ads (${cache})`);
  return retryOnPortClash(async () => {
    const xdsPort = await releasedLoopbackPort();
    const httpPort = await releasedLoopbackPort();
    const args = ['--xds-port', xdsPort, '--http-port', httpPort, '--clusters', params.clusters, '--endpoints', params.endpoints, '--cache', cache];
    const proc = launch('gocp-ads', bin, [...args.map(String), '--host', '127.0.0.1'], log);
    const http = `http://127.0.0.1:${httpPort}`;
    try {
      await pollUntil('serving', proc, log, () => httpOk(`${http}/`));
    } catch (e) {
      await terminate(proc, 2000);
      throw e;
    }
    if (proc.child.pid === undefined) throw new Error('gocp-ads: no pid');
    return { proc, pid: proc.child.pid, xdsPort, http };
  });
}

/** The peer serving, or its failure (with gocp-ads's last log lines) reported to the orchestrator as an 'error'. */
async function startOrReport(cache: GocpCache): Promise<Peer> {
  try {
    return await start(cache);
  } catch (err) {
    await sendEvent({ ev: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
}

const started = performance.now();
const peer = await startOrReport(cacheKind);
send({ ev: 'listening', port: peer.xdsPort, buildMs: performance.now() - started, external: true });

/** As memory.ts waits for Node's servers (three rounds of 100 ms), then the Go process's RSS: it cannot be made to collect first. */
async function memory(): Promise<MemoryReport> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 100));
  return { rss: procBytes(peer.pid, 'VmRSS'), heapUsed: NaN, heapTotal: NaN, external: NaN, arrayBuffers: NaN, streams: NaN };
}

interface Pending {
  readonly change: number;
  readonly cpu0: number;
  /** ms for `GET /change` to be answered (go-control-plane has set the new resource by then). */
  readonly setMs: number;
}
let pending: Promise<Pending> | undefined;

async function change(msg: Extract<ServerCommand, { cmd: 'change' }>): Promise<Pending> {
  if (msg.index !== CHANGED_INDEX) throw new Error(`gocp-ads changes only cluster ${CHANGED_INDEX} (svc0), not ${msg.index}`);
  const cpu0 = cpuSeconds(peer.pid);
  const t = performance.now();
  const res = await fetch(`${peer.http}/change`);
  const body = await res.text();
  if (res.status !== 200 || body !== 'ok') throw new Error(`gocp-ads: GET /change answered ${res.status} ${body}`);
  return { change: msg.change, cpu0, setMs: performance.now() - t };
}

async function settle(changeNo: number): Promise<void> {
  const p = await pending;
  if (!p || p.change !== changeNo) throw new Error(`gocp-ads: told to settle change ${changeNo}, but the last change was ${String(p?.change)}`);
  pending = undefined;
  const cpu = cpuSeconds(peer.pid) - p.cpu0;
  send({ ev: 'changed', change: p.change, cpu, encodes: NaN, setMs: p.setMs, lastAckAt: NaN, acks: NaN });
}

const fail = (err: unknown): void => send({ ev: 'error', message: String(err) });

process.on('message', (raw: unknown) => {
  const msg = raw as ServerCommand;
  switch (msg.cmd) {
    case 'memory':
      memory()
        .then((m) => send({ ev: 'memory', ...m }))
        .catch(fail);
      break;
    case 'cpu':
      send({ ev: 'cpu', seconds: cpuSeconds(peer.pid) });
      break;
    case 'change':
      pending = change(msg);
      pending.catch(fail);
      break;
    case 'settle':
      settle(msg.change).catch(fail);
      break;
    case 'gc-log':
      // Go's collector runs concurrently on its own threads; its pauses are not visible from outside (run.ts shows n/a).
      send({ ev: 'gc-log', pauses: [] });
      break;
    case 'heap-snapshot':
    case 'profile-start':
    case 'profile-stop':
      send({ ev: 'error', message: 'gocp-ads is measured from outside: no heap snapshot or profile' });
      break;
    case 'exit':
      void terminate(peer.proc, 2000).finally(() => process.exit(0));
      break;
  }
});
