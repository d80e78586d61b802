/**
 * The proxies phase of `npm run bench:kube -- --proxies N --changes M` (issue 14), against the API server
 * the bench filled:
 *
 * 1. Starts `trellis serve --kubeconfig` (src/cli.ts through tsx, as `npm start` runs it) as the
 *    ServiceAccount bound to KUBE_RBAC_RULES, xDS and debug on free loopback ports; time from spawning
 *    it to /readyz 200 (module loading included).
 * 2. Forks kube-fleet.ts: N Envoy-like sidecar streams, proxy k the sidecar of Pod k/S of Service k mod S
 *    (each a distinct Pod, so each its own class), all opened at once; time from the first stream opened
 *    until every stream has ACKed CDS and LDS and holds every EDS and RDS name it subscribed to
 *    (client-side SYNCED); then /debug/syncz is asked (again, while it says fewer, up to 30 s) whether it
 *    counts N SYNCED proxies. Trellis's RSS (/proc/PID/status VmRSS) at ready and once synced.
 * 3. M endpoint changes: each a merge patch of the EndpointSlice of the last Service (with `reachable`,
 *    of service 0, which every proxy reaches: changeTarget), its first endpoint given an address not used
 *    before (10.64.x.y); latency per proxy from the PATCH returning until that proxy has received and
 *    ACKed the ClusterLoadAssignment (that Service's outbound cluster) holding the new address. `--change-gap` ms
 *    between the convergence of one change and the next. Trellis's CPU per change (/proc, from just
 *    before the write until the last proxy ACKed), and its RSS after the changes and its peak (VmHWM).
 * 4. Closes the streams and ends Trellis (SIGTERM, then SIGKILL after 5 s); `killTrellis()` on exit.
 * Throughout, both processes' RSS is read every 250 ms: above `rssLimit` the bench stops (exit 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { outboundCluster } from '../../src/translate/names.ts';
import { pollFor } from '../support/poll.ts';
import { releasedLoopbackPort } from '../support/ports.ts';
import { cpuSeconds, procBytes } from '../support/proc.ts';
import { Child } from './children.ts';
import { now } from './config.ts';
import type { SidecarNode } from './envoy-subscriber.ts';
import { Admin } from './kube-create.ts';
import type { FleetCommand, FleetEvent } from './kube-fleet.ts';
import { serviceGroup, type ScaleParams, type ServiceGroup } from './kube-objects.ts';

export interface ProxiesOptions {
  readonly proxies: number;
  readonly changes: number;
  readonly streamsPerConnection: number;
  readonly changeGapMs: number;
  /** How long the streams may take to be SYNCED, and each change to reach every proxy. */
  readonly syncTimeoutMs: number;
  readonly changeTimeoutMs: number;
  readonly logLevel: string;
  /** Trellis or the proxies' process above this RSS (bytes): the bench stops (exit 1), sparing the machine. */
  readonly rssLimit: number;
  /** Extra environment of the Trellis process (malloc). */
  readonly env: Readonly<Record<string, string>>;
}

export interface ChangeResult {
  readonly change: number;
  readonly address: string;
  /** PATCH sent → returned, ms. */
  readonly writeMs: number;
  /** Per proxy: PATCH returned → ACKed the new assignment, ms (NaN: not by the timeout). */
  readonly latencies: readonly number[];
  readonly complete: boolean;
  readonly subscribed: number;
  readonly trellisCpuSeconds: number;
  readonly responses: number;
  readonly bytes: number;
  readonly clientCpu: number;
  /** Streams that ended with an error and were opened again during the change. */
  readonly reconnects: number;
}

export interface ProxiesResult {
  readonly proxies: number;
  /** ScaleParams.reachable: the K each Pod's trellis.dev/reachable-services names besides service 0; undefined: no annotation. */
  readonly reachable: number | undefined;
  /** Trellis spawned → /readyz 200, ms (module loading included). */
  readonly readyMs: number;
  /** First stream opened → last stream SYNCED (client side), ms; NaN when not all were by the timeout. */
  readonly syncedMs: number;
  /** Per stream: opened → SYNCED, ms. */
  readonly perProxySyncMs: readonly number[];
  readonly syncedCount: number;
  readonly connectResponses: number;
  readonly connectBytes: number;
  readonly connectClientCpu: number;
  /** Streams that ended with an error (and were opened again) until all were SYNCED, and the first few errors. */
  readonly reconnects: number;
  readonly errors: readonly string[];
  /** Trellis's CPU seconds from the first stream opened to the last SYNCED. */
  readonly connectTrellisCpu: number;
  readonly edsNames: number;
  readonly rdsNames: number;
  readonly edsSets: number;
  /** /debug/syncz's summary once it agreed (or the last one seen), and how long after the client side it agreed. */
  readonly syncz: { readonly summary: Record<string, number>; readonly agreedAfterMs: number };
  readonly cluster: string;
  readonly changes: readonly ChangeResult[];
  readonly rss: { readonly ready: number; readonly synced: number; readonly afterChanges: number; readonly peak: number };
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');
let trellis: ChildProcess | undefined;
let trellisOutput = '';

/** Synchronous, for 'exit'. */
export function killTrellis(): void {
  if (trellis && trellis.exitCode === null && trellis.signalCode === null) trellis.kill('SIGKILL');
}

function log(msg: string): void {
  process.stderr.write(`kube-bench: proxies: ${msg}\n`);
}

function startTrellis(kubeconfig: string, leaseNamespace: string, xdsPort: number, debugPort: number, opts: ProxiesOptions): ChildProcess {
  const args = ['--import', tsx, 'src/cli.ts', 'serve', '--kubeconfig', kubeconfig, '--lease-namespace', leaseNamespace];
  args.push('--xds-address', `127.0.0.1:${xdsPort}`, '--debug-address', `127.0.0.1:${debugPort}`, '--log-level', opts.logLevel);
  const c = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (line: string): void => void (trellisOutput = `${trellisOutput}${line}\n`.slice(-20_000));
  createInterface({ input: c.stdout }).on('line', keep);
  createInterface({ input: c.stderr }).on('line', keep);
  c.on('exit', (code, signal) => {
    if (trellis !== c) return;
    trellis = undefined;
    log(`Trellis exited (code ${String(code)}, signal ${String(signal)}); its last output:\n${trellisOutput}`);
    process.exit(1);
  });
  return c;
}

async function stopTrellis(): Promise<void> {
  const c = trellis;
  trellis = undefined;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

/** Proxy k: the sidecar of Pod ⌊k/S⌋ of Service k mod S. */
export function proxyNodes(params: ScaleParams, n: number): SidecarNode[] {
  if (n > params.services * params.podsPerService)
    throw new Error(`--proxies must be at most services × pods-per-service (${params.services * params.podsPerService})`);
  return Array.from({ length: n }, (_, k) => {
    const g = serviceGroup(k % params.services, params);
    const pod = g.pods[Math.floor(k / params.services)];
    if (!pod) throw new Error(`no pod for proxy ${k}`);
    const sa = g.name;
    return {
      id: `${pod.name}.${g.namespace}`,
      cluster: `${sa}.${g.namespace}`,
      metadata: {
        PROXY_MODE: 'sidecar',
        NAMESPACE: g.namespace,
        POD_NAME: pod.name,
        SERVICE_ACCOUNT: sa,
        INSTANCE_IP: String(pod.status.podIP),
      },
    };
  });
}

/**
 * The Service whose EndpointSlice the endpoint changes patch: the last one; with `reachable`, service 0,
 * the one every pod's annotation names (the last one is in few proxies' scope).
 */
export function changeTarget(params: ScaleParams): ServiceGroup {
  return serviceGroup(params.reachable === undefined ? params.services - 1 : 0, params);
}

/** The address of change c (1-based): 10.64.0.0/16, outside the bench's Pod and Service ranges. */
const changeAddress = (c: number): string => `10.64.${(c >> 8) & 255}.${c & 255}`;

interface SynczSummary {
  proxies: number;
  synced: number;
  stale: number;
  notSent: number;
  errors: number;
}

async function syncz(debug: string): Promise<SynczSummary> {
  const body = (await (await fetch(`${debug}/debug/syncz`)).json()) as { summary: SynczSummary };
  return body.summary;
}

/** Reads both processes' VmRSS every 250 ms; above `limit`, says so and exits 1 (the exit hooks kill both). */
function rssGuard(pids: readonly number[], limit: number): NodeJS.Timeout {
  return setInterval(() => {
    for (const pid of pids) {
      let rss = 0;
      try {
        rss = procBytes(pid, 'VmRSS');
      } catch {
        continue; // gone: its exit is reported elsewhere
      }
      if (rss <= limit) continue;
      const which = pid === trellis?.pid ? 'Trellis' : "the proxies' process";
      log(`${which} (pid ${pid}) reached ${(rss / 2 ** 20).toFixed(0)} MiB RSS, above --rss-limit ${(limit / 2 ** 20).toFixed(0)} MiB: stopping`);
      process.exit(1);
    }
  }, 250);
}

export async function runProxies(
  env: { url: string; caPem: string; adminKubeconfig: string },
  kubeconfig: string,
  leaseNamespace: string,
  params: ScaleParams,
  opts: ProxiesOptions,
): Promise<ProxiesResult> {
  const nodes = proxyNodes(params, opts.proxies);
  const fleet = new Child<FleetCommand, FleetEvent>('proxies (kube-fleet.ts)', 'kube-fleet.ts', {}, ['--max-old-space-size=8192']);
  await fleet.next('loaded');
  const [xdsPort, debugPort] = [await releasedLoopbackPort(), await releasedLoopbackPort()];
  const debug = `http://127.0.0.1:${debugPort}`;
  log(`starting trellis serve --kubeconfig (xDS :${xdsPort}, debug :${debugPort})`);
  const t0 = now();
  trellis = startTrellis(kubeconfig, leaseNamespace, xdsPort, debugPort, opts);
  const pid = trellis.pid ?? 0;
  const guard = rssGuard([pid, fleet.proc.pid ?? 0], opts.rssLimit);
  await pollFor(
    'Trellis /readyz 200',
    () => httpStatus(`${debug}/readyz`),
    (s) => s === 200,
    600_000,
    50,
  );
  const readyMs = now() - t0;
  const rssReady = procBytes(pid, 'VmRSS');
  log(`ready in ${(readyMs / 1000).toFixed(2)} s, RSS ${(rssReady / 2 ** 20).toFixed(0)} MiB; connecting ${opts.proxies} sidecar streams`);

  const cpuConnect0 = cpuSeconds(pid);
  fleet.send({ cmd: 'connect', address: `127.0.0.1:${xdsPort}`, nodes, streamsPerConnection: opts.streamsPerConnection, timeoutMs: opts.syncTimeoutMs });
  const synced = await fleet.next('synced');
  const connectTrellisCpu = cpuSeconds(pid) - cpuConnect0;
  const rssSynced = procBytes(pid, 'VmRSS');
  const perProxySyncMs = synced.syncedAt.map((t) => t - synced.openedAt);
  const syncedCount = perProxySyncMs.filter((x) => !Number.isNaN(x)).length;
  const syncedMs = synced.complete ? Math.max(...perProxySyncMs) : Number.NaN;
  log(
    `${syncedCount} / ${opts.proxies} SYNCED (client side)${synced.complete ? ` in ${(syncedMs / 1000).toFixed(2)} s` : ' at the timeout'}, ${synced.reconnects} streams dropped and opened again`,
  );
  for (const e of synced.errors) log(`  dropped: ${e}`);

  const clientSyncedAt = now();
  let lastSyncz: SynczSummary = { proxies: 0, synced: 0, stale: 0, notSent: 0, errors: 0 };
  let agreedAfterMs = Number.NaN;
  try {
    lastSyncz = await pollFor(
      `/debug/syncz to count ${syncedCount} SYNCED`,
      async () => (lastSyncz = await syncz(debug)),
      (s) => s.synced === syncedCount && s.proxies === opts.proxies,
      30_000,
      250,
    );
    agreedAfterMs = now() - clientSyncedAt;
  } catch {
    log(`/debug/syncz did not agree within 30 s: ${JSON.stringify(lastSyncz)}`);
  }

  const target = changeTarget(params);
  const cluster = outboundCluster(`${target.name}.${target.namespace}.svc.cluster.local`, 80);
  const sliceName = (target.slice.metadata as { name: string }).name;
  const endpoints = target.slice.endpoints as Record<string, unknown>[];
  const admin = new Admin(env.url, env.caPem, env.adminKubeconfig, 2);
  const changes: ChangeResult[] = [];
  try {
    for (let c = 1; c <= opts.changes && synced.complete; c++) {
      await sleep(opts.changeGapMs);
      const address = changeAddress(c);
      fleet.send({ cmd: 'expect', change: c, cluster, address, timeoutMs: opts.changeTimeoutMs });
      const expecting = await fleet.next('expecting');
      const patch = { endpoints: endpoints.map((e, i) => (i === 0 ? { ...e, addresses: [address] } : e)) };
      const cpu0 = cpuSeconds(pid);
      const w0 = now();
      await admin.send('PATCH', `/apis/discovery.k8s.io/v1/namespaces/${target.namespace}/endpointslices/${sliceName}`, patch, {
        contentType: 'application/merge-patch+json',
      });
      const w1 = now();
      const conv = await fleet.next('converged');
      const latencies = conv.ackedAt.map((t) => t - w1);
      changes.push({
        change: c,
        address,
        writeMs: w1 - w0,
        latencies,
        complete: conv.complete,
        subscribed: expecting.subscribed,
        trellisCpuSeconds: cpuSeconds(pid) - cpu0,
        responses: conv.responses,
        bytes: conv.bytes,
        clientCpu: conv.clientCpu,
        reconnects: conv.reconnects,
      });
      const got = latencies.filter((x) => !Number.isNaN(x));
      log(`change ${c}: ${got.length} / ${opts.proxies} proxies ACKed ${address}, slowest ${(Math.max(...got) / 1000).toFixed(2)} s`);
    }
  } finally {
    admin.close();
    clearInterval(guard);
  }
  const rssAfter = procBytes(pid, 'VmRSS');
  const peak = procBytes(pid, 'VmHWM');
  await fleet.stop({ cmd: 'close' });
  await stopTrellis();
  return {
    proxies: opts.proxies,
    reachable: params.reachable,
    readyMs,
    syncedMs,
    perProxySyncMs,
    syncedCount,
    connectResponses: synced.responses,
    connectBytes: synced.bytes,
    connectClientCpu: synced.clientCpu,
    reconnects: synced.reconnects,
    errors: synced.errors,
    connectTrellisCpu,
    edsNames: synced.edsNames,
    rdsNames: synced.rdsNames,
    edsSets: synced.edsSets,
    syncz: { summary: { ...lastSyncz }, agreedAfterMs },
    cluster,
    changes,
    rss: { ready: rssReady, synced: rssSynced, afterChanges: rssAfter, peak },
  };
}
