/**
 * The certificate bench (issue 12): N workload identities from nothing to every `default` Secret served,
 * against a real API server (envtest) and the real cert-manager (CA ClusterIssuer trellis-ca), beside the
 * floor: the same N CertificateRequests created and awaited by a bare loop with no Trellis. Target:
 * Trellis within 1.2x of the floor, as the ratio of the medians over the rounds and as the median of each
 * round's ratio.
 *
 *   KUBEBUILDER_ASSETS=../shared/envtest npx tsx test/bench/certs.ts --identities 200 --rounds 3
 *
 * Each round, in fresh namespaces, runs both (floor first in odd rounds, Trellis first in even ones),
 * each in a fresh process (certs-child.ts), once the API server, etcd and cert-manager have gone quiet
 * (and the machine, for up to 30 s: other users' processes may share it):
 * - floor: one unmeasured request (as Trellis issues its own certificate before its clock starts); then
 *   the clock runs from opening ONE watch on the namespace, through N P-256 keys and CSRs
 *   (src/certs/csr.ts) and N CertificateRequests created at once (the spec src/certs/requests.ts makes:
 *   ClusterIssuer trellis-ca, 24h, the four usages, isCA false), to the last Ready on the watch.
 * - Trellis: `trellis serve --issuer trellis-ca --trust-bundle ... --xds-secure-address 127.0.0.1:0`
 *   watching its namespace and the workloads'. Not measured: N ServiceAccounts and TokenRequest tokens
 *   (audience trellis), Trellis's start and its own serving certificate (a TLS handshake with the secure
 *   port must complete). The clock runs from the moment N ADS clients (certs-proxies.ts; pod-i, service
 *   account sa-i, each its own connection and token) start connecting to the moment the last holds its
 *   `default` Secret: TokenReview, its CertificateRequest, cert-manager's approval and signature, the
 *   check of the issued certificate, the request's deletion, the SDS push.
 * Both create their requests as Trellis's ServiceAccount (bound to exactly its RBAC rules).
 * Printed per run: the time; the CPU each process spent in the window (/proc; "other processes" is the
 * machine's busy time that is not the bench's); where the time went: the floor's own clock, Trellis's logs
 * (kept at debug in the child: stream authenticated, request created, certificate issued), the proxies'
 * clock, and a bystander's watch on the requests (created, approved, Ready; certs-observer.ts); how busy
 * the machine was while the requests were made and after; the API requests served in the window, by
 * verb, resource and code (the API server's apiserver_request_total).
 *
 * What bounds both: cert-manager's controller talks to the API server through client-go's rate limiter
 * (--kube-api-qps 20, --kube-api-burst 50 by default, as test/support starts it and as a cluster runs it),
 * and each request costs it two status updates (approval, certificate) and Events, 3.3-3.7 writes in all
 * (the API server's counts, printed per run). Beyond the burst it signs about 6 requests a second, whoever
 * asks: 200 take about 31 s. --cert-manager-qps lifts that limit.
 *
 * Options:
 *   --identities N        workload identities, one proxy each (200)
 *   --rounds R            rounds; medians are reported, and each round (3)
 *   --concurrency C       requests in flight while making ServiceAccounts and tokens (32)
 *   --timeout SECONDS     global limit; children, the API server and cert-manager are killed, exit 2 (1200)
 *   --profile             CPU-profile the Trellis process and the floor process over each window, print where it goes
 *   --log-level LEVEL     Trellis's lines at this level and above echoed to stderr (warn)
 *   --cert-manager-qps Q  restart cert-manager's controller with --kube-api-qps=Q --kube-api-burst=Q (certs-cert-manager.ts),
 *                         to see both sides when cert-manager's rate limit is not what bounds them (default: as started)
 * Exits 1 on error; a missed target is printed as MISS and exits 0 unless TRELLIS_BENCH_STRICT=1.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { TRAFFIC_POLICY_CRD, trellisKubeconfigYaml } from '../sources/kube-support.ts';
import { startCertManager, type CertManager } from '../support/cert-manager.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import type { ChildCommand, ChildEvent, ChildTask, FloorResult, TrellisWindow } from './certs-child.ts';
import { Child } from './children.ts';
import { envtestBench } from './harness.ts';
import { raiseControllerQps, type Restarted } from './certs-cert-manager.ts';
import { apiRequests, observe } from './certs-observer.ts';
import { connectFleet, loadClientProtos, tlsProbe, workloadTokens } from './certs-proxies.ts';
import { addOthers, childCpu, cpuDelta, floorBreakdown, report, sampleMachine, trellisBreakdown, type CpuSampler, type Run } from './certs-report.ts';

// ---- options ----

const { identities, rounds, concurrency, profile, certManagerQps, logLevel, harness } = envtestBench('certs-bench', { concurrency: 32 });
/** What Trellis asks for by default (--cert-duration 24h); the floor asks for the same. */
const DURATION_SECONDS = 24 * 3600;
const { deadline, log } = harness;

/** A certs-child.ts process and its events, waited on in order against the global deadline. */
class CertsChild extends Child<ChildCommand, ChildEvent> {
  constructor(label: string, task: ChildTask) {
    super(label, 'certs-child.ts', { TRELLIS_CERTS_BENCH_TASK: JSON.stringify(task) }, []);
  }
}

// ---- the two runs ----

/** The API requests served in the window, most first (a WATCH counts when it ends). */
function apiLine(api: ReadonlyMap<string, number>): string {
  const top = [...api.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10);
  return `API requests served in the window: ${top.map(([k, n]) => `${k} ×${n}`).join(', ')}`;
}

/** How busy the machine was while the requests were being made, and while cert-manager worked through them. */
function busyLine(machine: CpuSampler, t0: number, lastCreated: number, end: number): string {
  const cores = (a: number, b: number) => machine.coresBusy(a, b).toFixed(2);
  return (
    `machine busy (of ${cpus().length} cores): ${cores(t0, lastCreated)} until the last request was created (${((lastCreated - t0) / 1000).toFixed(2)} s), ` +
    `${cores(lastCreated, end)} after`
  );
}

interface Context {
  readonly env: Envtest;
  readonly cm: CertManager;
  readonly dir: string;
  readonly bundlePath: string;
  readonly profiles: { label: string; path: string }[];
}

const profilePath = (label: string): string | undefined => (profile ? join(tmpdir(), `trellis-certs-bench-${label}-${process.pid}.cpuprofile`) : undefined);

async function kubeconfigFor(ctx: Context, namespace: string): Promise<string> {
  const path = join(ctx.dir, `${namespace}.kubeconfig`);
  await writeFile(path, await trellisKubeconfigYaml(ctx.env, namespace));
  return path;
}

async function runFloor(ctx: Context, round: number): Promise<Run> {
  const namespace = await ctx.env.namespace('floor');
  const path = profilePath(`floor-${round}`);
  const task: ChildTask = {
    mode: 'floor',
    kubeconfig: await kubeconfigFor(ctx, namespace),
    namespace,
    workloadNamespace: `work-${namespace}`,
    identities,
    issuer: ctx.cm.issuerName,
    durationSeconds: DURATION_SECONDS,
    ...(path ? { profilePath: path } : {}),
  };
  const child = new CertsChild(`floor (round ${round})`, task);
  try {
    await child.next('ready');
    const bystander = await observe(ctx.env.adminKubeconfig, namespace);
    await harness.settled(round);
    const api0 = await apiRequests(ctx.env);
    const machine = sampleMachine();
    const cpu0 = childCpu();
    child.send({ cmd: 'go' });
    const r: FloorResult = await child.next('floor');
    const cpu = cpuDelta(cpu0, childCpu());
    const api = cpuDelta(api0, await apiRequests(ctx.env));
    machine.stop();
    bystander.stop();
    cpu.set('floor process', r.cpuSeconds);
    addOthers(cpu, machine, r.t0, r.end);
    if (path) ctx.profiles.push({ label: `the floor process, round ${round}`, path });
    const ids = r.ready.map((_, i) => `spiffe://cluster.local/ns/${task.workloadNamespace}/sa/sa-${i}`);
    const breakdown = [...floorBreakdown(r, ids, bystander.seen), busyLine(machine, r.t0, Math.max(...r.created), r.end), apiLine(api)];
    return { round, impl: 'floor', ms: r.end - r.t0, cpu, breakdown };
  } finally {
    await child.stop();
    // Not measured: the floor's requests go, as Trellis deletes its own.
    const kc = new KubeConfig();
    kc.loadFromString(ctx.env.adminKubeconfig);
    await kc
      .makeApiClient(CustomObjectsApi)
      .deleteCollectionNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', namespace, plural: 'certificaterequests' });
  }
}

async function runTrellis(ctx: Context, round: number): Promise<Run> {
  const home = await ctx.env.namespace('trellis');
  const work = await ctx.env.namespace('bench');
  const tokens = await workloadTokens(ctx.env, work, identities, concurrency);
  const path = profilePath(`trellis-${round}`);
  const task: ChildTask = {
    mode: 'trellis',
    kubeconfig: await kubeconfigFor(ctx, home),
    namespace: home,
    workloadNamespace: work,
    issuer: ctx.cm.issuerName,
    trustBundle: ctx.bundlePath,
    durationSeconds: DURATION_SECONDS,
    logLevel,
    keepLevel: 'debug',
    ...(path ? { profilePath: path } : {}),
  };
  const child = new CertsChild(`Trellis (round ${round})`, task);
  try {
    const ready = await child.next('ready');
    log(`round ${round}: Trellis started, its serving certificate issued, in ${(ready.startMs / 1000).toFixed(2)} s`);
    const tls = { rootsPem: ctx.cm.rootPem, serverName: `trellis.${home}.svc` };
    await tlsProbe(ready.securePort, tls.rootsPem, tls.serverName, deadline);
    loadClientProtos();
    const bystander = await observe(ctx.env.adminKubeconfig, home);
    await harness.settled(round);
    child.send({ cmd: 'mark' });
    await child.next('marked');
    const api0 = await apiRequests(ctx.env);
    const machine = sampleMachine();
    const cpu0 = childCpu();
    const t0 = Date.now();
    const fleet = await connectFleet(`127.0.0.1:${ready.securePort}`, tls, work, tokens, deadline);
    const end = Math.max(...fleet.served);
    const cpu = cpuDelta(cpu0, childCpu());
    machine.stop();
    const api = cpuDelta(api0, await apiRequests(ctx.env));
    child.send({ cmd: 'done' });
    const w: TrellisWindow = await child.next('window');
    bystander.stop();
    cpu.set('Trellis process', w.cpuSeconds);
    addOthers(cpu, machine, t0, end);
    fleet.close();
    if (path) ctx.profiles.push({ label: `the Trellis process, round ${round}`, path });
    const ids = fleet.served.map((_, i) => `spiffe://cluster.local/ns/${work}/sa/sa-${i}`);
    const breakdown = trellisBreakdown(t0, fleet.served, ids, w, bystander.seen);
    const lastCreated = Math.max(...w.events.filter((e) => e.kind === 'created').map((e) => e.at));
    breakdown.push(busyLine(machine, t0, lastCreated, end), apiLine(api), `${fleet.responses} SDS responses received by the ${identities} proxies`);
    return { round, impl: 'trellis', ms: end - t0, cpu, breakdown };
  } finally {
    await child.stop({ cmd: 'stop' });
  }
}

// ---- main ----

async function main(): Promise<number> {
  const cpu = cpus();
  console.log(
    `Trellis certificate bench — ${new Date().toISOString()}, Node ${process.version}, ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, ` +
      `${(totalmem() / 1024 ** 3).toFixed(1)} GB\n${identities} identities, ${rounds} rounds (floor and Trellis alternate which goes first), ` +
      `envtest with its watch cache + cert-manager (CA ClusterIssuer; controller ${certManagerQps > 0 ? `--kube-api-qps=${certManagerQps} --kube-api-burst=${certManagerQps}` : 'with client-go defaults, QPS 20 burst 50'})\n`,
  );
  const workDir = await harness.workDir();
  log('starting the API server and cert-manager');
  const env = await startEnvtest({ watchCache: true });
  let cm: CertManager | undefined;
  let raised: Restarted | undefined;
  const runs: Run[] = [];
  const ctx = { env, dir: workDir, bundlePath: join(workDir, 'bundle.pem'), profiles: [] as { label: string; path: string }[] };
  try {
    await env.installCrds([TRAFFIC_POLICY_CRD]);
    cm = await startCertManager(env);
    if (certManagerQps > 0) {
      raised = await raiseControllerQps(cm, certManagerQps);
      log(`cert-manager's controller restarted with --kube-api-qps=${certManagerQps} --kube-api-burst=${certManagerQps}`);
    }
    await writeFile(ctx.bundlePath, cm.rootPem);
    const full: Context = { ...ctx, cm };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? (['floor', 'trellis'] as const) : (['trellis', 'floor'] as const);
      for (const impl of order) {
        const run = impl === 'floor' ? await runFloor(full, round) : await runTrellis(full, round);
        log(`round ${round}: ${impl} ${(run.ms / 1000).toFixed(2)} s`);
        runs.push(run);
      }
    }
  } finally {
    await raised?.stop();
    await cm?.stop();
    await env.stop();
  }
  const { pass } = report(runs, identities, ctx.profiles);
  const json = {
    identities,
    rounds,
    certManagerQps: certManagerQps > 0 ? certManagerQps : 'default',
    runs: runs.map((r) => ({ round: r.round, impl: r.impl, seconds: +(r.ms / 1000).toFixed(3), cpu: Object.fromEntries(r.cpu) })),
  };
  console.log(`\nCERTS_BENCH_RESULT ${JSON.stringify(json)}`);
  return pass || process.env.TRELLIS_BENCH_STRICT !== '1' ? 0 : 1;
}

main()
  .then((code) => harness.exit(code))
  .catch((err: unknown) => {
    process.stderr.write(`certs-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
