/**
 * The SDS bench (issue 12, second half): S connected SDS streams over I workload identities, against a
 * real API server (envtest) and the real cert-manager, when the trust bundle changes — a CA rotation's
 * first step, the new root added beside the old one.
 *
 *   KUBEBUILDER_ASSETS=../shared/envtest npm run bench:sds -- --identities 200 --streams 1000 --rounds 3
 *
 * Each round, in fresh namespaces and fresh processes, runs both (floor first in odd rounds):
 * - Trellis: `trellis serve --issuer trellis-ca --trust-bundle FILE --xds-secure-address 127.0.0.1:0`
 *   (certs-child.ts). S ADS clients (certs-proxies.ts SdsFleet; pod-j, service account sa-(j mod I), each
 *   its own TLS connection and token, subscribed to `ROOTCA` and `default`) connect and hold their
 *   `default` Secret (not measured: that is `npm run bench:certs`). The clock starts when the bundle file
 *   is replaced (written beside it and renamed over it, as a ConfigMap volume's `..data` swap or an
 *   editor does) with the old root and a new one; it measures
 *   - ROOTCA: until every stream holds the new `ROOTCA` — the file watch, the bundle parse, one Secrets
 *     snapshot per identity, the push on each stream;
 *   - rotation: until every stream holds a new `default` — Trellis renews every certificate when the
 *     bundle changes: I CertificateRequests through cert-manager, each identity's Secrets set once and
 *     pushed to its S/I streams. Target: one encode per identity (the Secrets cache's count of
 *     resources encoded in the window: I `default` + 1 `ROOTCA`, shared by all identities).
 * - floor: the xDS floor of `npm run bench` (floor.ts) for Secrets: a bare grpc-js server on the same TLS
 *   (sds-floor.ts) to the same clients; on the command, one response built once with the new `ROOTCA`
 *   written unchanged to every stream. The clock runs from the command to every stream holding it.
 * Target: Trellis's ROOTCA time within 1.5x of the floor's (ratio of the medians, and each round's).
 * The clients run in this process and decode every response (about the same work on both sides). Both
 * servers run a full garbage collection before the clock starts (what 1000 connections and their
 * authentication left would otherwise be collected in the window, on Trellis's side only).
 *
 * Options:
 *   --identities I        workload identities (200)
 *   --streams S           SDS streams, identity of stream j: j mod I (1000)
 *   --rounds R            rounds; medians are reported, and each round (3)
 *   --concurrency C       streams connecting at once, and requests in flight making ServiceAccounts and tokens (64)
 *   --timeout SECONDS     global limit; children, the API server and cert-manager are killed, exit 2 (1200)
 *   --log-level LEVEL     Trellis's lines at this level and above echoed to stderr (warn)
 *   --profile             CPU-profile the Trellis process from the change until every stream holds the new ROOTCA and
 *                         print where it goes; the rotation is then not measured
 *   --cert-manager-qps Q  restart cert-manager's controller with --kube-api-qps=Q --kube-api-burst=Q (default: as started,
 *                         client-go's QPS 20, burst 50: the rotation then takes about I/6 seconds, whoever asks)
 * Exits 1 on error; a missed target is printed as MISS and exits 0 unless TRELLIS_BENCH_STRICT=1.
 */
import { mkdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { TRAFFIC_POLICY_CRD, trellisKubeconfigYaml } from '../sources/kube-support.ts';
import { conditionOf, startCertManager, waitForObject, type CertManager } from '../support/cert-manager.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import type { ChildCommand, ChildEvent, TrellisTask, TrellisWindow } from './certs-child.ts';
import { raiseControllerQps, type Restarted } from './certs-cert-manager.ts';
import { heldChain, heldRoots, loadClientProtos, SdsFleet, tlsProbe, workloadTokens } from './certs-proxies.ts';
import { childCpu, cpuDelta, median, quantile } from './certs-report.ts';
import { Child } from './children.ts';
import { envtestBench } from './harness.ts';
import { printProfile } from './profile.ts';
import type { SdsFloorCommand, SdsFloorEvent, SdsFloorTask } from './sds-floor.ts';

const TARGET_RATIO = 1.5;
/** Both servers collect the garbage of what came before the window (1000 connections, tokens) before it opens. */
const GC = ['--expose-gc'];

// ---- options ----

const { identities, rounds, concurrency, profile, certManagerQps, logLevel, int, harness } = envtestBench('sds-bench', { concurrency: 64 }, ['streams']);
const streams = int('streams', 1000);
if (streams < identities) throw new Error('--streams must be at least --identities (every identity has a stream)');
const DURATION_SECONDS = 24 * 3600;
const { deadline, log } = harness;

interface Context {
  readonly env: Envtest;
  readonly cm: CertManager;
  readonly dir: string;
  /** ROOTCA before and after the change. */
  readonly bundlePem: string;
  readonly nextBundlePem: string;
  /** The floor's serving certificate (cert-manager's, for a DNS name of its own) and the `default` it serves. */
  readonly floorCert: { certPem: string; keyPem: string; serverName: string };
}

/** One run's figures: ms from the change to each stream holding the new ROOTCA (and, for Trellis, a new `default`). */
interface Run {
  readonly round: number;
  readonly impl: 'floor' | 'trellis';
  readonly rootMs: readonly number[];
  readonly rotationMs?: readonly number[];
  readonly encodes?: number;
  readonly responses: number;
  readonly serverCpu: number;
  readonly lines: readonly string[];
  readonly profilePath?: string;
}

const since = (t0: number, at: readonly number[]): number[] => at.map((t) => t - t0);
const cpuLine = (cpu: ReadonlyMap<string, number>): string => `CPU in the window: ${[...cpu.entries()].map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`;

async function runFloor(ctx: Context, round: number): Promise<Run> {
  const work = await ctx.env.namespace('floor');
  const task: SdsFloorTask = {
    certPem: ctx.floorCert.certPem,
    keyPem: ctx.floorCert.keyPem,
    defaultChainPem: ctx.floorCert.certPem,
    defaultKeyPem: ctx.floorCert.keyPem,
    bundlePem: ctx.bundlePem,
    nextBundlePem: ctx.nextBundlePem,
    streams,
  };
  const child = new Child<SdsFloorCommand, SdsFloorEvent>(`floor (round ${round})`, 'sds-floor.ts', { TRELLIS_SDS_FLOOR_TASK: JSON.stringify(task) }, GC);
  let fleet: SdsFleet | undefined;
  try {
    const { port } = await child.next('ready');
    const tokens = Array.from({ length: identities }, (_, i) => `floor-token-${i}`);
    fleet = await SdsFleet.connect(
      `127.0.0.1:${port}`,
      { rootsPem: ctx.cm.rootPem, serverName: ctx.floorCert.serverName },
      work,
      tokens,
      streams,
      concurrency,
      deadline,
    );
    await harness.settled(round);
    child.send({ cmd: 'mark' });
    await child.next('marked');
    const responses0 = fleet.responses;
    const rooted = fleet.until((_, s) => heldRoots(s) === ctx.nextBundlePem);
    const cpu0 = childCpu();
    const t0 = Date.now();
    child.send({ cmd: 'go' });
    const at = await rooted;
    const acked = await child.next('acked');
    const cpu = cpuDelta(cpu0, childCpu());
    const lines = [
      `the response written to ${streams} streams in ${acked.writeMs.toFixed(1)} ms (${acked.bytes} bytes each); server CPU from the command to the last ACK ${acked.cpuSeconds.toFixed(3)} s`,
      cpuLine(cpu),
    ];
    return { round, impl: 'floor', rootMs: since(t0, at), responses: fleet.responses - responses0, serverCpu: acked.cpuSeconds, lines };
  } finally {
    fleet?.close();
    await child.stop({ cmd: 'stop' });
  }
}

async function runTrellis(ctx: Context, round: number): Promise<Run> {
  const home = await ctx.env.namespace('trellis');
  const work = await ctx.env.namespace('bench');
  const tokens = await workloadTokens(ctx.env, work, identities, concurrency);
  const dir = join(ctx.dir, `round-${round}`);
  mkdirSync(dir);
  const bundlePath = join(dir, 'bundle.pem');
  await writeFile(bundlePath, ctx.bundlePem);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, await trellisKubeconfigYaml(ctx.env, home));
  const task: TrellisTask = {
    mode: 'trellis',
    kubeconfig,
    namespace: home,
    workloadNamespace: work,
    issuer: ctx.cm.issuerName,
    trustBundle: bundlePath,
    durationSeconds: DURATION_SECONDS,
    logLevel,
    // As a cluster runs it (info): the timeline needs only the certificates issued.
    keepLevel: 'info',
    ...(profile ? { profilePath: join(tmpdir(), `trellis-sds-bench-${round}-${process.pid}.cpuprofile`) } : {}),
  };
  const child = new Child<ChildCommand, ChildEvent>(`Trellis (round ${round})`, 'certs-child.ts', { TRELLIS_CERTS_BENCH_TASK: JSON.stringify(task) }, GC);
  let fleet: SdsFleet | undefined;
  try {
    const ready = await child.next('ready');
    const tls = { rootsPem: ctx.cm.rootPem, serverName: `trellis.${home}.svc` };
    await tlsProbe(ready.securePort, tls.rootsPem, tls.serverName, deadline);
    const c0 = Date.now();
    fleet = await SdsFleet.connect(`127.0.0.1:${ready.securePort}`, tls, work, tokens, streams, concurrency, deadline);
    log(`round ${round}: ${streams} streams of ${identities} identities hold their default Secret (${((Date.now() - c0) / 1000).toFixed(1)} s)`);
    const f = fleet;
    const before = Array.from({ length: streams }, (_, j) => heldChain(f.secrets(j)));
    await harness.settled(round);
    child.send({ cmd: 'mark' });
    await child.next('marked');
    const responses0 = fleet.responses;
    const rooted = fleet.until((_, s) => heldRoots(s) === ctx.nextBundlePem);
    const rotated = fleet.until((j, s) => heldChain(s) !== before[j] && typeof heldChain(s) === 'string');
    const cpu0 = childCpu();
    const next = join(dir, '.bundle.pem.next');
    await writeFile(next, ctx.nextBundlePem);
    const t0 = Date.now();
    await rename(next, bundlePath);
    const rootAt = await rooted;
    const rotatedAt = task.profilePath ? undefined : await rotated;
    child.send({ cmd: 'done' });
    const w: TrellisWindow = await child.next('window');
    const cpu = cpuDelta(cpu0, childCpu());
    const issued = w.events.filter((e) => e.kind === 'issued').length;
    const read = w.events.find((e) => e.kind === 'bundle');
    const lines = [
      `the new bundle read (the file watch, its read and parse; Trellis's log) ${read ? `${read.at - t0} ms` : 'never'} after the change`,
      `${issued} certificates issued in the window; ` +
        `${w.secretEncodes} Secrets encoded (target ${identities + 1}: one default per identity, one ROOTCA for all)`,
      cpuLine(cpu),
      ...(w.problemCount > 0 ? [`${w.problemCount} warnings or errors logged, first: ${w.problems.join(' | ')}`] : []),
    ];
    return {
      round,
      impl: 'trellis',
      rootMs: since(t0, rootAt),
      ...(rotatedAt ? { rotationMs: since(t0, rotatedAt) } : {}),
      encodes: w.secretEncodes,
      responses: fleet.responses - responses0,
      serverCpu: w.cpuSeconds,
      lines,
      ...(task.profilePath ? { profilePath: task.profilePath } : {}),
    };
  } finally {
    fleet?.close();
    await child.stop({ cmd: 'stop' });
  }
}

// ---- set-up ----

/** A serving certificate for the floor from cert-manager (CA issuer trellis-ca), for a DNS name of its own. */
async function floorCertificate(env: Envtest, cm: CertManager): Promise<Context['floorCert']> {
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  const namespace = await env.namespace('sds-floor');
  const serverName = `sds-floor.${namespace}.svc`;
  const ref = { group: 'cert-manager.io', version: 'v1', plural: 'certificates', namespace, name: 'sds-floor' };
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: ref.name },
      spec: {
        secretName: ref.name,
        dnsNames: [serverName],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { name: cm.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    },
  });
  await waitForObject(kc, ref, (o: { status?: { conditions?: [] } }) => conditionOf(o, 'Ready')?.status === 'True');
  const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace, name: ref.name });
  const pem = (key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  return { certPem: pem('tls.crt'), keyPem: pem('tls.key'), serverName };
}

// ---- the report ----

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const spread = (xs: readonly number[]): string =>
  `first ${fmt(Math.min(...xs))}, p50 ${fmt(quantile(xs, 0.5))}, p99 ${fmt(quantile(xs, 0.99))}, last ${fmt(Math.max(...xs))}`;

function report(runs: readonly Run[]): boolean {
  console.log('\n== every stream holding the new ROOTCA, from the change ==');
  for (const r of runs) {
    console.log(`round ${r.round} ${r.impl === 'floor' ? 'floor  ' : 'Trellis'}: ${spread(r.rootMs)}; ${r.responses} responses to ${streams} streams`);
    for (const l of r.lines) console.log(`    ${l}`);
  }
  const last = (impl: Run['impl']): number[] => runs.filter((r) => r.impl === impl).map((r) => Math.max(...r.rootMs));
  const floor = last('floor');
  const trellis = last('trellis');
  const perRound = floor.map((f, i) => (trellis[i] ?? Number.NaN) / f);
  const ratio = median(trellis) / median(floor);
  const rootPass = ratio <= TARGET_RATIO && median(perRound) <= TARGET_RATIO;
  console.log(
    `\nROOTCA, last stream: floor median ${fmt(median(floor))}, Trellis median ${fmt(median(trellis))}: ${ratio.toFixed(2)}x ` +
      `(per round ${perRound.map((x) => `${x.toFixed(2)}x`).join(', ')}) — target within ${TARGET_RATIO}x of the floor: ${rootPass ? 'met' : 'MISS'}`,
  );
  for (const r of runs) if (r.profilePath) printProfile(`Trellis, round ${r.round}, until every stream held the new ROOTCA`, r.profilePath);
  const tr = runs.filter((r) => r.impl === 'trellis' && r.rotationMs);
  if (tr.length === 0) {
    console.log('\nrotation: not measured (--profile)');
    return rootPass;
  }
  console.log('\n== rotation: every stream holding a new default Secret, from the change (Trellis only; cert-manager signs them) ==');
  for (const r of tr) console.log(`round ${r.round}: ${spread(r.rotationMs ?? [])}; ${r.encodes} Secrets encoded`);
  const encodesPass = tr.every((r) => r.encodes === identities + 1);
  console.log(
    `one encode per identity (${identities} default + 1 ROOTCA = ${identities + 1} per round, whatever the ${streams} streams): ${encodesPass ? 'met' : 'MISS'}`,
  );
  return rootPass && encodesPass;
}

// ---- main ----

async function main(): Promise<number> {
  const cpu = cpus();
  console.log(
    `Trellis SDS bench — ${new Date().toISOString()}, Node ${process.version}, ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, ` +
      `${(totalmem() / 1024 ** 3).toFixed(1)} GB\n${identities} identities, ${streams} streams, ${rounds} rounds (floor and Trellis alternate which goes first), ` +
      `envtest + cert-manager (CA ClusterIssuer; controller ${certManagerQps > 0 ? `--kube-api-qps=${certManagerQps} --kube-api-burst=${certManagerQps}` : 'with client-go defaults, QPS 20 burst 50'})\n`,
  );
  const workDir = await harness.workDir();
  log('starting the API server and cert-manager');
  const env = await startEnvtest({ watchCache: true });
  let cm: CertManager | undefined;
  let raised: Restarted | undefined;
  const runs: Run[] = [];
  try {
    await env.installCrds([TRAFFIC_POLICY_CRD]);
    cm = await startCertManager(env);
    if (certManagerQps > 0) raised = await raiseControllerQps(cm, certManagerQps);
    const next = await cm.newCaIssuer('trellis-ca-next');
    const ctx: Context = {
      env,
      cm,
      dir: workDir,
      bundlePem: cm.rootPem,
      nextBundlePem: `${cm.rootPem.trimEnd()}\n${next.rootPem}`,
      floorCert: await floorCertificate(env, cm),
    };
    loadClientProtos();
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? (['floor', 'trellis'] as const) : (['trellis', 'floor'] as const);
      for (const impl of order) {
        const run = impl === 'floor' ? await runFloor(ctx, round) : await runTrellis(ctx, round);
        log(`round ${round}: ${impl} ROOTCA on every stream in ${fmt(Math.max(...run.rootMs))}`);
        runs.push(run);
      }
    }
  } finally {
    await raised?.stop();
    await cm?.stop();
    await env.stop();
  }
  const pass = report(runs);
  const json = {
    identities,
    streams,
    rounds,
    certManagerQps: certManagerQps > 0 ? certManagerQps : 'default',
    runs: runs.map((r) => ({
      round: r.round,
      impl: r.impl,
      rootMs: Math.max(...r.rootMs),
      ...(r.rotationMs ? { rotationMs: Math.max(...r.rotationMs), encodes: r.encodes } : {}),
      serverCpu: +r.serverCpu.toFixed(3),
    })),
  };
  console.log(`\nSDS_BENCH_RESULT ${JSON.stringify(json)}`);
  return pass || process.env.TRELLIS_BENCH_STRICT !== '1' ? 0 : 1;
}

main()
  .then((code) => harness.exit(code))
  .catch((err: unknown) => {
    process.stderr.write(`sds-bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
