/**
 * `npm run bench`: convergence, CPU, memory and bytes of Trellis's ADS server against a floor (a
 * bare grpc-js server writing pre-encoded bytes) and against go-control-plane (gocp-ads, its server and
 * caches; gocp.ts), with N simulated proxies in a separate process; and the cold start of N proxies.
 *
 *   npm run bench -- --clients 1000 --clusters 1000 --endpoints 10 --changes 100 --protocol both
 *   npm run bench -- --impls floor,trellis,gocp-linear,gocp-snapshot --phases cold-start
 *
 * Options (each also from the environment, the command line wins):
 *   --clients N, --clusters K, --endpoints E, --changes C   TRELLIS_BENCH_CLIENTS, _CLUSTERS, _ENDPOINTS, _CHANGES
 *                         (C defaults to 100, so that p99 is the 99th of 100 changes, not the slowest of a few)
 *   --warmup W            unmeasured changes first (default 10: the first changes after 1000 streams connect still pay for warming up)  TRELLIS_BENCH_WARMUP
 *   --protocol sotw|delta|both                                               TRELLIS_BENCH_PROTOCOL
 *   --impls LIST          of floor, trellis, gocp-linear, gocp-snapshot (default floor,trellis,gocp-linear)  TRELLIS_BENCH_IMPLS
 *                         gocp-*: the gocp-ads binary in $TRELLIS_GO_CONTROL_PLANE (default ../shared/go-control-plane)
 *   --phases LIST         of changes, cold-start (default both)                  TRELLIS_BENCH_PHASES
 *   --streams-per-channel S   client streams per HTTP/2 connection (100)    TRELLIS_BENCH_STREAMS_PER_CHANNEL
 *   --timeout SECONDS     global limit; children are killed, exit 2 (600)    TRELLIS_BENCH_TIMEOUT
 *   --profile             CPU-profile the Trellis server over the measured changes, and over the cold start (connect to
 *                         every proxy ACKed), and print where it goes
 *   --heap-snapshot       write a heap snapshot of the Trellis server with N clients connected (tmpdir)
 *   --malloc tuned|default   servers run with MALLOC_MMAP_THRESHOLD_=131072 (tuned) or glibc defaults  TRELLIS_BENCH_MALLOC
 * Phases, per protocol: the changes, then the cold start, of each implementation in turn, each with a fresh
 * server and client process. Changes: the N clients connect one HTTP/2 connection's streams at a time, then
 * W + C changes, one at a time, each until all N ACKed. Cold start: the N clients open every stream at once;
 * timed from the connect command until every one has ACKed its initial CDS and EDS.
 * Fairness with go-control-plane: gocp-ads serves the bench's names and resource shapes (config.ts follows it:
 * `outbound|80||svc<i>.bench.svc.cluster.local`, locality zone "z") and its `GET /change` can only change svc0;
 * so every implementation changes svc0 each time (CHANGED_INDEX). All N clients subscribe to all K clusters, so
 * each change reaches every client in every implementation, as a spread of changed clusters did before.
 * go-control-plane is measured from outside (gocp.ts): its convergence includes the ~1 ms HTTP round trip of
 * GET /change, its CPU comes in 10 ms ticks, and its RSS is taken without a forced GC (the Node servers' after
 * one), which can only flatter Trellis's RSS ratio while the Go heap holds garbage.
 * Exits 1 on error; a missed target is printed as MISS and exits 0 unless TRELLIS_BENCH_STRICT=1.
 */
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Child, guard, killAll, type Named } from './children.ts';
import {
  CHANGED_INDEX,
  clusterName,
  now,
  type BenchParams,
  type ClientCommand,
  type ClientEvent,
  type Protocol,
  type ServerCommand,
  type ServerEvent,
} from './config.ts';
import { gocpBinary } from './gocp-peer.ts';
import { IMPLS, isGocp, notes, profileReport, summarize, summarizeColdStart, type ColdStartResult, type Impl, type PhaseResult } from './report.ts';
import { tables, targets } from './report-table.ts';

// ---- options ----

const { values: argv } = parseArgs({
  options: {
    clients: { type: 'string' },
    clusters: { type: 'string' },
    endpoints: { type: 'string' },
    changes: { type: 'string' },
    warmup: { type: 'string' },
    protocol: { type: 'string' },
    impls: { type: 'string' },
    phases: { type: 'string' },
    'streams-per-channel': { type: 'string' },
    timeout: { type: 'string' },
    profile: { type: 'boolean' },
    malloc: { type: 'string' },
    'heap-snapshot': { type: 'boolean' },
  },
  strict: true,
});

/** A bad option: one line naming it, exit 1 (parseArgs's own errors, for unknown options, are thrown as they are). */
function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function num(name: keyof typeof argv, env: string, dflt: number): number {
  const raw = argv[name] ?? process.env[env];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer, not ${String(raw)}`);
  return n;
}

const params: BenchParams = {
  clients: num('clients', 'TRELLIS_BENCH_CLIENTS', 1000),
  clusters: num('clusters', 'TRELLIS_BENCH_CLUSTERS', 1000),
  endpoints: num('endpoints', 'TRELLIS_BENCH_ENDPOINTS', 10),
  changes: num('changes', 'TRELLIS_BENCH_CHANGES', 100),
  warmup: num('warmup', 'TRELLIS_BENCH_WARMUP', 10),
  streamsPerChannel: num('streams-per-channel', 'TRELLIS_BENCH_STREAMS_PER_CHANNEL', 100),
};
/** How each bench process receives the parameters. */
const paramsEnv = { TRELLIS_BENCH_PARAMS: JSON.stringify(params) };
const protocolArg = argv.protocol ?? process.env.TRELLIS_BENCH_PROTOCOL ?? 'both';
if (!['sotw', 'delta', 'both'].includes(protocolArg)) usage(`--protocol must be sotw, delta or both`);
const protocols: Protocol[] = protocolArg === 'both' ? ['sotw', 'delta'] : [protocolArg as Protocol];
/** A comma-separated list option, each item one of `allowed`. */
function list<T extends string>(name: 'impls' | 'phases', env: string, allowed: readonly T[], dflt: readonly T[]): T[] {
  const raw = argv[name] ?? process.env[env];
  if (raw === undefined || raw === '') return [...dflt];
  const items = raw
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  const bad = items.filter((x) => !(allowed as readonly string[]).includes(x));
  if (bad.length > 0 || items.length === 0)
    usage(`--${name}: ${bad.length > 0 ? `${bad.join(', ')} is not one of` : 'empty; give one or more of'} ${allowed.join(', ')}`);
  return allowed.filter((a) => items.includes(a));
}
const impls = list('impls', 'TRELLIS_BENCH_IMPLS', IMPLS, ['floor', 'trellis', 'gocp-linear']);
const PHASES = ['changes', 'cold-start'] as const;
const phases = list('phases', 'TRELLIS_BENCH_PHASES', PHASES, PHASES);
const timeoutSeconds = num('timeout', 'TRELLIS_BENCH_TIMEOUT', 600);
const profile = argv.profile ?? ['1', 'true'].includes(process.env.TRELLIS_BENCH_PROFILE ?? '');
const heapSnapshot = argv['heap-snapshot'] ?? false;
/**
 * glibc raises its mmap threshold after the first large free, after which the large transient
 * buffers of an initial sync (hundreds of KB per stream) come from the heap and stay there as
 * fragmentation. Pinning the threshold (the README recommends it for production) returns them to the system.
 * `--malloc default` measures glibc's defaults instead. Both servers, floor and Trellis, get the same.
 */
const mallocArg = argv.malloc ?? process.env.TRELLIS_BENCH_MALLOC ?? 'tuned';
if (!['tuned', 'default'].includes(mallocArg)) usage('--malloc must be tuned or default');
const serverEnv: Record<string, string> = mallocArg === 'tuned' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {};
if (params.clients < 1 || params.clusters < 1 || params.changes < 1) usage('clients, clusters and changes must be at least 1');

const globalTimer = guard(timeoutSeconds);

type ServerChild = Child<ServerCommand, ServerEvent>;
type ClientChild = Child<ClientCommand, ClientEvent>;

// ---- one phase ----

/** What the change loop measures, one entry per measured change. */
type Measured = Pick<
  PhaseResult,
  'convergenceMs' | 'serverAckMs' | 'cpuSeconds' | 'clientCpuSeconds' | 'encodes' | 'setMs' | 'bytes' | 'responses' | 'gcMs' | 'lateResponses'
>;

/** Warm-up and measured changes, one at a time: each waits until all N clients ACKed and the server processed the ACKs. */
async function measureChanges(label: string, server: ServerChild, external: boolean, clients: ClientChild, profiled: boolean): Promise<Measured> {
  const m = {
    convergenceMs: [] as number[],
    serverAckMs: [] as number[],
    cpuSeconds: [] as number[],
    clientCpuSeconds: [] as number[],
    encodes: [] as number[],
    setMs: [] as number[],
    bytes: [] as number[],
    responses: [] as number[],
  };
  const windows: [number, number][] = [];
  let late = 0;
  for (let j = 0; j < params.warmup + params.changes; j++) {
    if (j === params.warmup && profiled) {
      server.send({ cmd: 'profile-start' });
      await server.next('profile-started');
    }
    // Each phase makes the same sequence of changes: svc0's endpoints at version 1, 2, ...
    const index = CHANGED_INDEX;
    const version = j + 1;
    clients.send({ cmd: 'expect', change: j, name: clusterName(index) });
    late += (await clients.next('expecting')).lateResponses;
    const t0 = now();
    server.send({ cmd: 'change', change: j, index, version, acks: params.clients });
    const conv = await clients.next('converged');
    // A server measured from outside cannot tell when it has seen the ACKs: the clients' convergence ends its window.
    if (external) server.send({ cmd: 'settle', change: j });
    const changed = await server.next('changed');
    if (conv.change !== j || changed.change !== j) throw new Error(`${label}: change ${j} reported as ${conv.change}/${changed.change}`);
    if (j < params.warmup) continue;
    m.convergenceMs.push(conv.lastAckAt - t0);
    m.serverAckMs.push(changed.lastAckAt - t0);
    m.cpuSeconds.push(changed.cpu);
    m.clientCpuSeconds.push(conv.clientCpu);
    m.encodes.push(changed.encodes);
    m.setMs.push(changed.setMs);
    m.bytes.push(conv.bytes);
    m.responses.push(conv.responses);
    windows.push([t0, external ? conv.lastAckAt : Math.max(changed.lastAckAt, conv.lastAckAt)]);
  }
  server.send({ cmd: 'gc-log' });
  const { pauses } = await server.next('gc-log');
  const gcMs = windows.map(([a, b]) =>
    external ? NaN : pauses.reduce((sum, [start, d]) => sum + Math.max(0, Math.min(b, start + d) - Math.max(a, start)), 0),
  );
  // Responses that arrived after the last change converged.
  clients.send({ cmd: 'expect', change: -1, name: '' });
  late += (await clients.next('expecting')).lateResponses;
  return { ...m, gcMs, lateResponses: late };
}

/** A fresh server process of `impl` with the bench's K clusters and E endpoints. */
function startServer(impl: Impl): ServerChild {
  const env = { ...serverEnv, ...paramsEnv };
  if (impl === 'floor') return new Child('floor server', 'floor.ts', env);
  if (impl === 'trellis') return new Child('trellis server', 'server.ts', env);
  return new Child(`${impl} server`, 'gocp.ts', { ...env, TRELLIS_BENCH_GOCP_CACHE: impl === 'gocp-linear' ? 'linear' : 'snapshot' });
}

type Listening = Named<ServerEvent, 'listening'>;
type Memory = Named<ServerEvent, 'memory'>;

/** A fresh server of `impl`, its memory once it listens, and `body`; the client process `body` starts is stopped with the server. */
async function withServer<T>(
  impl: Impl,
  label: string,
  body: (server: ServerChild, listening: Listening, memBefore: Memory, startClients: () => ClientChild) => Promise<T>,
): Promise<T> {
  process.stderr.write(`bench: ${label}: starting server\n`);
  const server = startServer(impl);
  let clients: ClientChild | undefined;
  try {
    const listening = await server.next('listening');
    server.send({ cmd: 'memory' });
    const memBefore = await server.next('memory');
    return await body(server, listening, memBefore, () => (clients = new Child('clients', 'clients.ts', paramsEnv)));
  } finally {
    await Promise.all([clients?.stop({ cmd: 'close' }), server.stop({ cmd: 'exit' })]);
  }
}

/** The server's memory with every client connected (and, of our own servers, a check that it holds all their streams). */
async function connectedMemory(server: ServerChild, listening: Listening, label: string): Promise<Memory> {
  server.send({ cmd: 'memory' });
  const memConnected = await server.next('memory');
  if (!listening.external && memConnected.streams !== params.clients)
    throw new Error(`${label}: server holds ${memConnected.streams} streams, expected ${params.clients}`);
  return memConnected;
}

/** A fresh server and client process: memory before and after connecting, then the changes. */
function phase(impl: Impl, protocol: Protocol): Promise<PhaseResult> {
  const label = `${impl} ${protocol}`;
  return withServer(impl, label, async (server, listening, memBefore, startClients) => {
    const clients = startClients();
    clients.send({ cmd: 'connect', port: listening.port, protocol, burst: false });
    const ready = await clients.next('ready');
    process.stderr.write(`bench: ${label}: ${ready.streams} streams ready in ${(ready.setupMs / 1000).toFixed(1)} s\n`);
    const memConnected = await connectedMemory(server, listening, label);
    const artefact = (ext: string): string => join(tmpdir(), `trellis-bench-${protocol}-${process.pid}.${ext}`);
    if (heapSnapshot && impl === 'trellis') {
      server.send({ cmd: 'heap-snapshot', path: artefact('heapsnapshot') });
      process.stderr.write(`bench: ${label}: heap snapshot written to ${(await server.next('heap-snapshot')).path}\n`);
    }
    const profiled = profile && impl === 'trellis';
    const measured = await measureChanges(label, server, listening.external, clients, profiled);
    if (profiled) {
      server.send({ cmd: 'profile-stop', path: artefact('cpuprofile') });
      await server.next('profiled');
    }
    return {
      impl,
      protocol,
      setupMs: ready.setupMs,
      setupBytesPerClient: ready.setupBytes / ready.streams,
      ...measured,
      memBefore,
      memConnected,
      ...(profiled ? { profilePath: artefact('cpuprofile') } : {}),
    };
  });
}

/** A fresh server and client process; the N clients open every stream at once; until all have ACKed CDS and EDS. */
function coldStart(impl: Impl, protocol: Protocol): Promise<ColdStartResult> {
  const label = `${impl} ${protocol} cold start`;
  return withServer(impl, label, async (server, listening, memBefore, startClients) => {
    const profiled = profile && impl === 'trellis';
    const profilePath = join(tmpdir(), `trellis-bench-cold-${protocol}-${process.pid}.cpuprofile`);
    if (profiled) {
      server.send({ cmd: 'profile-start' });
      await server.next('profile-started');
    }
    server.send({ cmd: 'cpu' });
    const cpu0 = (await server.next('cpu')).seconds;
    // The client process is up before the clock starts: its start-up is not the server's cold start.
    const clients = startClients();
    clients.send({ cmd: 'connect', port: listening.port, protocol, burst: true });
    const ready = await clients.next('ready');
    server.send({ cmd: 'cpu' });
    const serverCpuSeconds = (await server.next('cpu')).seconds - cpu0;
    if (profiled) {
      server.send({ cmd: 'profile-stop', path: profilePath });
      await server.next('profiled');
    }
    process.stderr.write(`bench: ${label}: ${ready.streams} streams ACKed in ${(ready.setupMs / 1000).toFixed(2)} s\n`);
    const memConnected = await connectedMemory(server, listening, label);
    return {
      impl,
      protocol,
      totalMs: ready.setupMs,
      perClientMs: ready.perClientMs,
      serverCpuSeconds,
      setupBytesPerClient: ready.setupBytes / ready.streams,
      memBefore,
      memConnected,
      ...(profiled ? { profilePath } : {}),
    };
  });
}

// ---- main ----

async function main(): Promise<number> {
  const started = new Date();
  const cpu = cpus();
  const env = { date: started.toISOString(), node: process.version, cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length };
  console.log(
    `Trellis ADS bench — ${env.date}, Node ${env.node}, ${env.cpu} x ${env.cores}\n` +
      `N=${params.clients} clients, K=${params.clusters} clusters, E=${params.endpoints} endpoints, ` +
      `${params.changes} measured changes (+${params.warmup} warm-up), ${params.streamsPerChannel} streams per client connection\n` +
      `servers' malloc: ${mallocArg === 'tuned' ? 'MALLOC_MMAP_THRESHOLD_=131072 (the setting the README recommends)' : "glibc's defaults"}\n` +
      `implementations: ${impls.join(', ')}; phases: ${phases.join(', ')}\n`,
  );
  // A missing peer binary fails at once, not after the first phases.
  if (impls.some(isGocp)) process.stderr.write(`bench: go-control-plane peer: ${gocpBinary()}\n`);
  const results: PhaseResult[] = [];
  const colds: ColdStartResult[] = [];
  for (const protocol of protocols) {
    if (phases.includes('changes')) for (const impl of impls) results.push(await phase(impl, protocol));
    if (phases.includes('cold-start')) for (const impl of impls) colds.push(await coldStart(impl, protocol));
  }
  const rows = results.map((r) => summarize(r, params.clients));
  const coldRows = colds.map((c) => summarizeColdStart(c, params.clients));
  console.log(tables(rows, coldRows, protocols));
  console.log(`\n${notes(params)}`);
  const lines = targets(rows, coldRows, protocols);
  console.log('\nTargets');
  for (const l of lines) console.log(`  ${l.pass ? 'PASS' : 'MISS'}  ${l.protocol.padEnd(5)}  ${l.target}: ${l.figure}`);
  for (const r of results) if (r.profilePath) console.log(`\n${profileReport(r.profilePath, `the ${params.changes} measured ${r.protocol} changes`)}`);
  for (const c of colds) if (c.profilePath) console.log(`\n${profileReport(c.profilePath, `the ${c.protocol} cold start`)}`);
  const json = {
    ...env,
    params: { ...params, protocols, impls, phases },
    phases: rows,
    coldStart: coldRows,
    raw: results.map((r) => ({
      impl: r.impl,
      protocol: r.protocol,
      convergenceMs: r.convergenceMs.map((x) => +x.toFixed(2)),
      serverAckMs: r.serverAckMs.map((x) => +x.toFixed(2)),
      cpuSeconds: r.cpuSeconds.map((x) => +x.toFixed(4)),
      gcMs: r.gcMs.map((x) => +x.toFixed(2)),
    })),
    targets: lines,
  };
  console.log(`\nBENCH_RESULT ${JSON.stringify(json)}`);
  return lines.every((l) => l.pass) ? 0 : 1;
}

main()
  .then((code) => {
    clearTimeout(globalTimer);
    // A missed target is a result, not a failure of the bench: exit 0 unless BENCH_STRICT asks otherwise.
    process.exit(process.env.TRELLIS_BENCH_STRICT ? code : 0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    killAll();
    process.exit(1);
  });
