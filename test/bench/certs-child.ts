/**
 * One side of the certificate bench (certs.ts), in a fresh process:
 * - `floor`: a bare loop with no Trellis. One unmeasured request first (as Trellis issues its own serving
 *   certificate before the clock starts); then, on `go`, ONE watch on the namespace, N fresh P-256 keys and
 *   CSRs (src/certs/csr.ts, the same work as Trellis) and N CertificateRequests with the spec
 *   src/certs/requests.ts makes, all created at once; the clock stops at the last Ready seen on the watch.
 * - `trellis`: `trellis serve --issuer ... --xds-secure-address 127.0.0.1:0` (runServe from src/pipeline),
 *   reported ready once its own serving certificate is issued and the trust bundle published; on `mark` it
 *   notes its CPU (and starts a profile), on `done` it sends the window's CPU and the timeline its logs give
 *   (proxy connected, CertificateRequest created, certificate issued), on `stop` it stops.
 * Both authenticate as Trellis's ServiceAccount (a kubeconfig bound to exactly its RBAC rules).
 */
import { CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { pino } from 'pino';
import { newKeyAndCsr } from '../../src/certs/csr.ts';
import { IDENTITY_ANNOTATION, identityLabels } from '../../src/certs/requests.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { runServe, type ServeHandle } from '../../src/pipeline/index.ts';
import { Commands, cpuSince, sendEvent } from './child-ipc.ts';
import { startProfile, stopProfile } from './profile.ts';

export interface FloorTask {
  readonly mode: 'floor';
  readonly kubeconfig: string;
  /** Where the requests are created (Trellis's namespace in the Trellis run). */
  readonly namespace: string;
  /** The identities are `spiffe://cluster.local/ns/<workloadNamespace>/sa/sa-<i>`. */
  readonly workloadNamespace: string;
  readonly identities: number;
  readonly issuer: string;
  readonly durationSeconds: number;
  readonly profilePath?: string;
}

export interface TrellisTask {
  readonly mode: 'trellis';
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly workloadNamespace: string;
  readonly issuer: string;
  readonly trustBundle: string;
  readonly durationSeconds: number;
  /** Trellis's lines at this level and above are echoed to stderr. */
  readonly logLevel: string;
  /** Trellis's lines at this level and above are kept for the timeline (debug: with each request created). */
  readonly keepLevel: 'debug' | 'info';
  readonly profilePath?: string;
}

export type ChildTask = FloorTask | TrellisTask;

export type ChildCommand = { readonly cmd: 'go' } | { readonly cmd: 'mark' } | { readonly cmd: 'done' } | { readonly cmd: 'stop' };

/** What Trellis's logs say happened to an identity, when (epoch ms). */
export interface TimelineEvent {
  /** `bundle`: Trellis read a changed trust bundle (identity ''). */
  readonly kind: 'connected' | 'created' | 'issued' | 'failed' | 'bundle';
  readonly identity: string;
  readonly at: number;
}

export interface FloorResult {
  readonly ev: 'floor';
  /** Epoch ms of the start and of each request's create answer and Ready event, by index. */
  readonly t0: number;
  readonly end: number;
  readonly created: readonly number[];
  readonly ready: readonly number[];
  readonly cpuSeconds: number;
}

export interface TrellisWindow {
  readonly ev: 'window';
  readonly cpuSeconds: number;
  /** Resources the Secrets' snapshot cache encoded in the window (one per new content). */
  readonly secretEncodes: number;
  readonly events: readonly TimelineEvent[];
  /** Warnings and errors Trellis logged in the window (the first few). */
  readonly problems: readonly string[];
  readonly problemCount: number;
}

export type ChildEvent =
  | { readonly ev: 'ready'; readonly securePort: number; readonly startMs: number }
  | { readonly ev: 'marked' }
  | FloorResult
  | TrellisWindow
  | { readonly ev: 'error'; readonly message: string };

const GROUP = 'cert-manager.io';
const VERSION = 'v1';
const PLURAL = 'certificaterequests';

const send = (msg: ChildEvent): Promise<void> => sendEvent(msg);
const commands = new Commands<ChildCommand>('certs-child.ts');
const command = async (expected: ChildCommand['cmd']): Promise<void> => void (await commands.next(expected));

// ---- the floor ----

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null ? (v as Rec) : {});

/** Ready=True with a certificate: true; a terminal failure: its message; still pending: undefined. */
function outcome(obj: Rec): true | string | undefined {
  const status = rec(obj.status);
  const conds = (Array.isArray(status.conditions) ? (status.conditions as unknown[]) : []).map(rec);
  const readyCond = conds.find((c) => c.type === 'Ready');
  if (readyCond?.status === 'True' && typeof status.certificate === 'string' && status.certificate !== '') return true;
  const denied = conds.find((c) => (c.type === 'Denied' || c.type === 'InvalidRequest') && c.status === 'True');
  if (denied) return `${String(denied.type)}: ${String(denied.message)}`;
  if (readyCond?.status === 'False' && readyCond.reason === 'Failed') return `Failed: ${String(readyCond.message)}`;
  return undefined;
}

/** N requests created at once, awaited on one watch of the namespace; epoch ms of each create answer and Ready. */
async function requestAll(
  task: FloorTask,
  kc: KubeConfig,
  prefix: string,
  n: number,
): Promise<{ t0: number; end: number; created: number[]; ready: number[] }> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = task.namespace;
  const created = new Array<number>(n).fill(Number.NaN);
  const ready = new Array<number>(n).fill(Number.NaN);
  let remaining = n;
  const t0 = Date.now();
  let controller: AbortController | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const onEvent = (type: string, obj: unknown): void => {
      if (type === 'ERROR') return reject(new Error(`the watch failed: ${JSON.stringify(obj)}`));
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const name = String(rec(rec(obj).metadata).name);
      if (!name.startsWith(`${prefix}-`)) return;
      const i = Number(name.slice(prefix.length + 1));
      const o = outcome(rec(obj));
      if (o === undefined || !Number.isNaN(ready[i] ?? 0)) return;
      if (o !== true) return reject(new Error(`CertificateRequest ${ns}/${name}: ${o}`));
      ready[i] = Date.now();
      if (--remaining === 0) resolve();
    };
    const ended = (err: unknown): void => {
      if (remaining > 0) reject(new Error(`the watch ended with ${remaining} requests not Ready: ${String(err)}`));
    };
    // resourceVersion 0: from the watch cache's current state. Unset, the API server waits for its cache to reach
    // etcd's latest revision, which for a kind with no recent writes takes a progress notification (envtest's etcd
    // sends none: the watch ends after 3 s with "Too large resource version").
    void new Watch(kc).watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, { resourceVersion: '0' }, onEvent, ended).then((c) => {
      controller = c;
      for (let i = 0; i < n; i++) {
        const identity = `spiffe://cluster.local/ns/${task.workloadNamespace}/sa/${prefix === 'floor' ? 'sa' : prefix}-${i}`;
        const { csrPem } = newKeyAndCsr(identity);
        const body = {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'CertificateRequest',
          metadata: { name: `${prefix}-${i}`, namespace: ns, labels: identityLabels(identity), annotations: { [IDENTITY_ANNOTATION]: identity } },
          spec: {
            request: Buffer.from(csrPem).toString('base64'),
            issuerRef: { kind: 'ClusterIssuer', name: task.issuer, group: GROUP },
            duration: `${task.durationSeconds}s`,
            usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
            isCA: false,
          },
        };
        custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body }).then(
          () => (created[i] = Date.now()),
          (err: unknown) => reject(new Error(`creating ${prefix}-${i}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)),
        );
      }
    }, reject);
  });
  try {
    await done;
  } finally {
    controller?.abort();
  }
  return { t0, end: Date.now(), created, ready };
}

async function floor(task: FloorTask): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(task.kubeconfig);
  const w0 = performance.now();
  await requestAll(task, kc, 'warmup', 1);
  await send({ ev: 'ready', securePort: 0, startMs: performance.now() - w0 });
  await command('go');
  if (task.profilePath) await startProfile();
  const cpu0 = process.cpuUsage();
  const r = await requestAll(task, kc, 'floor', task.identities);
  const cpuSeconds = cpuSince(cpu0);
  if (task.profilePath) await stopProfile(task.profilePath);
  await send({ ev: 'floor', ...r, cpuSeconds });
}

// ---- Trellis ----

interface Line {
  level: number;
  time: number;
  msg: string;
  identity?: string;
  peer?: string;
}

function timeline(lines: readonly string[]): Omit<TrellisWindow, 'ev' | 'cpuSeconds' | 'secretEncodes'> {
  const events: TimelineEvent[] = [];
  const problems: string[] = [];
  let problemCount = 0;
  for (const text of lines) {
    const l = JSON.parse(text) as Line;
    if (l.msg === 'proxy connected' && l.peer) events.push({ kind: 'connected', identity: l.peer, at: l.time });
    else if (l.msg.startsWith('CertificateRequest created') && l.identity) events.push({ kind: 'created', identity: l.identity, at: l.time });
    else if (l.msg === 'workload certificate issued' && l.identity) events.push({ kind: 'issued', identity: l.identity, at: l.time });
    else if (l.msg === 'trust bundle changed') events.push({ kind: 'bundle', identity: '', at: l.time });
    else if (l.msg.startsWith('no certificate for') && l.identity) events.push({ kind: 'failed', identity: l.identity, at: l.time });
    if (l.level >= 40) {
      problemCount += 1;
      if (problems.length < 5) problems.push(l.msg);
    }
  }
  return { events, problems, problemCount };
}

async function trellis(task: TrellisTask): Promise<void> {
  const lines: string[] = [];
  const logger = pino(
    { level: task.keepLevel, base: { app: 'trellis' } },
    pino.multistream([
      { level: task.keepLevel, stream: { write: (s: string) => void lines.push(s) } },
      { level: task.logLevel, stream: process.stderr },
    ]),
  );
  const config = loadServeConfig(
    {
      kubeconfig: task.kubeconfig,
      namespaces: `${task.namespace},${task.workloadNamespace}`,
      'lease-namespace': task.namespace,
      id: 'trellis-bench',
      'xds-address': '127.0.0.1:0',
      'xds-secure-address': '127.0.0.1:0',
      'debug-address': '127.0.0.1:0',
      issuer: task.issuer,
      'trust-bundle': task.trustBundle,
      'cert-duration': `${task.durationSeconds}s`,
      'log-level': task.keepLevel,
    },
    {},
  );
  const t0 = performance.now();
  const handle: ServeHandle = await runServe(config, logger);
  const certs = handle.certificates;
  if (!certs) throw new Error('runServe started no certificates (no --issuer?)');
  await new Promise<void>((resolve) => {
    if (certs.xds.ready()) return resolve();
    const onChanged = (): void => {
      if (!certs.xds.ready()) return;
      certs.manager.off('changed', onChanged);
      resolve();
    };
    certs.manager.on('changed', onChanged);
  });
  await certs.published();
  await send({ ev: 'ready', securePort: handle.running.xdsSecurePort, startMs: performance.now() - t0 });

  await command('mark');
  // Started with --expose-gc (the SDS bench): the garbage of what came before the window is not collected in it.
  (globalThis as { gc?: () => void }).gc?.();
  if (task.profilePath) await startProfile();
  const from = lines.length;
  const cpu0 = process.cpuUsage();
  const encodes0 = certs.xds.secrets.encodes;
  await send({ ev: 'marked' });
  await command('done');
  const cpuSeconds = cpuSince(cpu0);
  const secretEncodes = certs.xds.secrets.encodes - encodes0;
  if (task.profilePath) await stopProfile(task.profilePath);
  await send({ ev: 'window', cpuSeconds, secretEncodes, ...timeline(lines.slice(from)) });
  await command('stop');
  await handle.stop();
}

// ---- main ----

const raw = process.env.TRELLIS_CERTS_BENCH_TASK;
if (!raw) throw new Error('TRELLIS_CERTS_BENCH_TASK is not set');
const task = JSON.parse(raw) as ChildTask;
(task.mode === 'floor' ? floor(task) : trellis(task))
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    await send({ ev: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  });
