/**
 * The real cert-manager for tests: its controller and webhook (the binaries in $TRELLIS_CERT_MANAGER, by
 * default <repo>/../shared/cert-manager; see its README) run against an envtest API server, with a CA
 * ClusterIssuer (its own self-signed ECDSA root) Ready to sign CertificateRequests.
 *
 * What it puts in the cluster is cluster-wide in effect, so one API server has at most one cert-manager at
 * a time (sharedCertManager(env), or startCertManager(env) and stop()):
 * - cert-manager's CRDs;
 * - the namespace (default `cert-manager`) with the controller's ServiceAccount `cert-manager`, bound to
 *   everything and to `approve` on cert-manager's signers, as the Helm chart grants;
 * - Mutating- and ValidatingWebhookConfiguration `trellis-test-cert-manager`, pointing at the webhook by URL.
 *   stop() removes them before it stops the webhook: with failurePolicy Fail they would refuse every later
 *   write of a cert-manager object;
 * - ClusterIssuer `trellis-selfsigned`, and for each CA issuer (`trellis-ca` and newCaIssuer's) a Certificate
 *   and Secret of its name in the namespace and a `ca` ClusterIssuer of its name.
 * These objects stay after stop(); a later start against the same API server reuses them (the same roots).
 *
 * Start-up takes about 3.5 s (webhook, controller, the CA's issuance), 1 s when the roots exist already.
 * As cert-manager v1.12 behaves here: an unapproved request gets no status at all; a denied one gets
 * Ready=False reason Denied and a failureTime; one it cannot sign (a bad CSR signature) Ready=False reason
 * Failed; Approved and Denied cannot coexist (the webhook answers 406), nor can spec change after creation.
 * The CA issuer honours spec.duration (not capped at the CA's own expiry) and sets status.ca to the root.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { Envtest } from './envtest.ts';
import { releasedLoopbackPort } from './ports.ts';
import { httpOk, launch, LogTail, pollUntil, retryOnPortClash, terminate, trackDir, untrackDir, type Proc } from './processes.ts';

export interface CertManager {
  /** Where the controller keeps the CA secrets (its --cluster-resource-namespace). */
  readonly namespace: string;
  /** Name of the CA ClusterIssuer (default 'trellis-ca'), Ready. */
  readonly issuerName: string;
  /** PEM of the self-signed ECDSA root behind `issuerName`. */
  readonly rootPem: string;
  /** Whether the running controller approves CertificateRequests itself (false while it is stopped). */
  readonly approver: boolean;
  /** Stop the controller; the webhook keeps running, so cert-manager objects can still be written. */
  stopController(): Promise<void>;
  /** Start the controller (restart it when running); `approver: false` leaves approval to approve()/deny(). Default: as started. */
  startController(opts?: { approver?: boolean }): Promise<void>;
  /** Set condition Approved=True through the status subresource, as an admin, as `cmctl approve` does. */
  approve(namespace: string, name: string): Promise<void>;
  /** Set condition Denied=True likewise (`cmctl deny`). */
  deny(namespace: string, name: string, message?: string): Promise<void>;
  /** A CA ClusterIssuer `name` with its own self-signed ECDSA root, Ready; a name used before gives the root it has. */
  newCaIssuer(name: string): Promise<{ issuerName: string; rootPem: string }>;
  /** The CertificateRequest once `until` holds of it (a watch); fails after timeoutMs with its last status. */
  waitForRequest(namespace: string, name: string, until: (cr: CertificateRequest) => boolean, timeoutMs?: number): Promise<CertificateRequest>;
  /** Remove the webhook configurations, then stop both processes. Not for the shared instance. */
  stop(): Promise<void>;
}

export interface CertManagerOptions {
  /** Run the controller's approver of CertificateRequests (default true). */
  approver?: boolean;
  /** Name of the CA ClusterIssuer (default 'trellis-ca'). */
  issuerName?: string;
  /** The controller's cluster resource namespace (default 'cert-manager'). */
  namespace?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A cert-manager.io/v1 CertificateRequest as read back (what tests look at). */
export interface CertificateRequest {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    request: string;
    issuerRef: { name: string; kind?: string; group?: string };
    duration?: string;
    usages?: string[];
    isCA?: boolean;
    /** Filled in by the webhook: who created the request. */
    username?: string;
    groups?: string[];
  };
  /** certificate and ca are base64 PEM. */
  status?: { conditions?: Condition[]; certificate?: string; ca?: string; failureTime?: string };
}

export interface ObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  /** Without a name: any object of the collection (the first one `until` holds of). */
  name?: string;
}

type Ready = { status?: { conditions?: readonly Condition[] } };
const ready = (o: Ready) => conditionOf(o, 'Ready')?.status === 'True';

export function conditionOf(obj: { status?: { conditions?: readonly Condition[] } }, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

const here = dirname(fileURLToPath(import.meta.url));
const execFileP = promisify(execFile);
const CM = { group: 'cert-manager.io', version: 'v1' } as const;
const WEBHOOK_CONFIG = 'trellis-test-cert-manager';
const WAIT_MS = 60_000;
const CONTROLLER_GRACE_MS = 3_000;
/** Its configurations are gone by then; a Go HTTP server's graceful stop would only wait for the API server's idle connections. */
const WEBHOOK_GRACE_MS = 500;

// ------------------------------------------------------------------------------------------
// waiting for an object

/**
 * The object once `until` holds of it: read it, then watch it from that resourceVersion (read again
 * whenever the watch ends). Fails after timeoutMs with the last status seen.
 */
export function waitForObject<T extends object>(kc: KubeConfig, ref: ObjectRef, until: (obj: T) => boolean, timeoutMs = WAIT_MS): Promise<T> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural, namespace, name } = ref;
  const path = `/apis/${group}/${version}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
  const fieldSelector = name === undefined ? undefined : `metadata.name=${name}`;
  let last: unknown = null;
  let settled = false;
  let watch: AbortController | undefined;
  return new Promise<T>((resolve, reject) => {
    const settle = (obj: T | undefined, err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watch?.abort();
      if (obj) resolve(obj);
      else reject(err ?? new Error('no object'));
    };
    const seen = (obj: T) => {
      last = 'status' in obj ? obj.status : obj;
      if (until(obj)) settle(obj);
    };
    const timer = setTimeout(
      () =>
        settle(
          undefined,
          new Error(`${plural} ${namespace ? `${namespace}/` : ''}${name ?? '*'}: not as awaited within ${timeoutMs} ms; last: ${JSON.stringify(last)}`),
        ),
      timeoutMs,
    );
    const round = async (): Promise<void> => {
      const query = { group, version, plural, fieldSelector };
      const list = (await (namespace ? custom.listNamespacedCustomObject({ ...query, namespace }) : custom.listClusterCustomObject(query))) as {
        metadata?: { resourceVersion?: string };
        items: T[];
      };
      for (const item of list.items) seen(item);
      if (settled) return;
      const events = (type: string, obj: T) => (type === 'ADDED' || type === 'MODIFIED' ? seen(obj) : undefined);
      watch = await new Watch(kc).watch(path, { fieldSelector, resourceVersion: list.metadata?.resourceVersion }, events, again);
      if (settled) watch.abort();
    };
    // A watch that ends (server timeout, 410 after compaction, a restarted API server) is begun again from a fresh read.
    function again(): void {
      if (settled) return;
      round().catch((e: unknown) => {
        last = String(e);
        if (!settled) setTimeout(again, 250);
      });
    }
    again();
  });
}

// ------------------------------------------------------------------------------------------
// setup

function findBinaries(): { controller: string; webhook: string; crds: string } {
  const dir = process.env.TRELLIS_CERT_MANAGER ?? resolve(here, '../../../shared/cert-manager');
  const files = { controller: join(dir, 'controller'), webhook: join(dir, 'webhook'), crds: join(dir, 'crds.yaml') };
  for (const [what, f] of Object.entries(files)) {
    try {
      accessSync(f, what === 'crds' ? constants.R_OK : constants.X_OK);
    } catch {
      throw new Error(
        `cert-manager: no ${what === 'crds' ? 'readable' : 'executable'} ${f}. Set TRELLIS_CERT_MANAGER to the directory holding controller, webhook and crds.yaml (shared/cert-manager beside the repo).`,
      );
    }
  }
  return files;
}

/** openssl with `dir` as its working directory, its failure one clear line. */
function openssl(dir: string): (...args: string[]) => Promise<unknown> {
  return (...args) =>
    execFileP('openssl', args, { cwd: dir }).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      throw new Error(
        e.code === 'ENOENT'
          ? 'cert-manager: `openssl` is not installed (Debian package openssl)'
          : `cert-manager: openssl ${args[0]} failed: ${e.stderr ?? e.message}`,
      );
    });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const CA_EXT = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];

/** A throwaway CA and a serving pair for 127.0.0.1 (openssl), for the webhook; returns the CA's PEM. */
async function makeWebhookPki(dir: string): Promise<string> {
  const ossl = openssl(dir);
  await ossl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=trellis-cert-manager-webhook-ca', ...CA_EXT);
  await ossl('req', '-new', ...EC, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(join(dir, 'tls.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  await ossl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'tls.ext', '-out', 'tls.crt');
  return readFile(join(dir, 'ca.crt'), 'utf8');
}

/** A self-signed ECDSA P-256 root with common name `name` (openssl): its certificate and key, PEM. */
async function makeRoot(dir: string, name: string): Promise<{ crt: string; key: string }> {
  const [crt, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  await openssl(dir)('req', '-x509', ...EC, '-keyout', key, '-out', crt, '-days', '30', '-subj', `/CN=${name}`, ...CA_EXT);
  return { crt: await readFile(crt, 'utf8'), key: await readFile(key, 'utf8') };
}

function webhookConfig(path: 'mutate' | 'validate', port: number, caPem: string) {
  return {
    metadata: { name: WEBHOOK_CONFIG },
    webhooks: [
      {
        name: 'webhook.cert-manager.io',
        rules: [{ apiGroups: ['cert-manager.io', 'acme.cert-manager.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['*/*'] }],
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        clientConfig: { url: `https://127.0.0.1:${port}/${path}`, caBundle: Buffer.from(caPem).toString('base64') },
      },
    ],
  };
}

const ignore =
  (...codes: number[]) =>
  (e: unknown) => {
    if (!(e instanceof ApiException) || !codes.includes(e.code)) throw e;
  };

// ------------------------------------------------------------------------------------------
// the instance

class CertManagerInstance implements CertManager {
  rootPem = '';
  approver = false;
  private readonly admin: KubeConfig;
  private readonly log = new LogTail('cert-manager');
  private controller: Proc | undefined;
  private webhook: Proc | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly env: Envtest,
    private readonly dir: string,
    private readonly bins: { controller: string; webhook: string },
    readonly namespace: string,
    readonly issuerName: string,
    private approverWanted: boolean,
  ) {
    this.admin = new KubeConfig();
    this.admin.loadFromString(env.adminKubeconfig);
  }

  async start(): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: this.namespace } } }).catch(ignore(409));
    const saKubeconfig = this.env.serviceAccountKubeconfig({
      namespace: this.namespace,
      name: 'cert-manager',
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        {
          apiGroups: ['cert-manager.io'],
          resources: ['signers'],
          verbs: ['approve'],
          resourceNames: ['issuers.cert-manager.io/*', 'clusterissuers.cert-manager.io/*'],
        },
      ],
    });
    await writeFile(join(this.dir, 'admin.kubeconfig'), this.env.adminKubeconfig);
    await writeFile(join(this.dir, 'controller.kubeconfig'), await saKubeconfig);
    await this.startWebhook();
    await this.startController();
    this.rootPem = (await this.newCaIssuer(this.issuerName)).rootPem;
  }

  private async startWebhook(): Promise<void> {
    const caPem = await makeWebhookPki(this.dir);
    const port = await retryOnPortClash(async () => {
      const [wport, hport] = [await releasedLoopbackPort(), await releasedLoopbackPort()];
      const f = (n: string) => join(this.dir, n);
      const args = [
        `--kubeconfig=${f('admin.kubeconfig')}`,
        `--secure-port=${wport}`,
        `--healthz-port=${hport}`,
        `--tls-cert-file=${f('tls.crt')}`,
        `--tls-private-key-file=${f('tls.key')}`,
      ];
      const proc = launch('webhook', this.bins.webhook, args, this.log);
      this.webhook = proc;
      await pollUntil('webhook /healthz', proc, this.log, () => httpOk(`http://127.0.0.1:${hport}/healthz`));
      return wport;
    });
    const adm = this.admin.makeApiClient(AdmissionregistrationV1Api);
    const mutating = webhookConfig('mutate', port, caPem) as V1MutatingWebhookConfiguration;
    const validating = webhookConfig('validate', port, caPem) as V1ValidatingWebhookConfiguration;
    await adm.deleteMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG }).catch(ignore(404)); // left by a stop() that could not reach the API server
    await adm.deleteValidatingWebhookConfiguration({ name: WEBHOOK_CONFIG }).catch(ignore(404));
    await adm.createMutatingWebhookConfiguration({ body: mutating });
    await adm.createValidatingWebhookConfiguration({ body: validating });
    await this.untilWebhookInEffect(await readFile(join(this.dir, 'tls.csr'), 'utf8'));
  }

  /**
   * The API server takes up webhook configurations through an informer: poll (dry runs) until a
   * CertificateRequest comes back mutated (spec.username filled in) and an invalid ClusterIssuer is refused.
   */
  private async untilWebhookInEffect(csrPem: string): Promise<void> {
    const custom = this.admin.makeApiClient(CustomObjectsApi);
    const request = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'CertificateRequest',
      metadata: { name: 'webhook-probe' },
      spec: { request: Buffer.from(csrPem).toString('base64'), issuerRef: { name: this.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' } },
    };
    const invalid = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'webhook-probe' }, spec: {} };
    await pollUntil('webhook configurations in effect', this.webhook, this.log, async () => {
      const cr = (await custom.createNamespacedCustomObject({
        ...CM,
        plural: 'certificaterequests',
        namespace: this.namespace,
        body: request,
        dryRun: 'All',
      })) as CertificateRequest;
      if (!cr.spec.username) return false;
      const refused = await custom.createClusterCustomObject({ ...CM, plural: 'clusterissuers', body: invalid, dryRun: 'All' }).then(
        () => false,
        (e: unknown) => e instanceof ApiException && String(e.message).includes('webhook.cert-manager.io'),
      );
      return refused;
    });
  }

  async startController(opts: { approver?: boolean } = {}): Promise<void> {
    await this.stopController();
    this.approverWanted = opts.approver ?? this.approverWanted;
    await retryOnPortClash(async () => {
      const [mport, hport] = [await releasedLoopbackPort(), await releasedLoopbackPort()];
      const args = [
        `--kubeconfig=${join(this.dir, 'controller.kubeconfig')}`,
        '--leader-elect=false',
        `--cluster-resource-namespace=${this.namespace}`,
        `--metrics-listen-address=127.0.0.1:${mport}`,
        `--internal-healthz-listen-address=127.0.0.1:${hport}`,
        ...(this.approverWanted ? [] : ['--controllers=*,-certificaterequests-approver']),
      ];
      const proc = launch('controller', this.bins.controller, args, this.log);
      this.controller = proc;
      await pollUntil('controller /livez', proc, this.log, () => httpOk(`http://127.0.0.1:${hport}/livez`));
    });
    this.approver = this.approverWanted;
  }

  async stopController(): Promise<void> {
    if (this.controller) await terminate(this.controller, CONTROLLER_GRACE_MS);
    this.controller = undefined;
    this.approver = false;
  }

  approve(namespace: string, name: string): Promise<void> {
    return this.setCondition(namespace, name, { type: 'Approved', status: 'True', reason: 'KubectlCertManager', message: 'manually approved by cmctl' });
  }

  deny(namespace: string, name: string, message = 'manually denied by cmctl'): Promise<void> {
    return this.setCondition(namespace, name, { type: 'Denied', status: 'True', reason: 'KubectlCertManager', message });
  }

  /** Read, add the condition, write the status back (optimistic concurrency: read again on a conflict with the controller). */
  private async setCondition(namespace: string, name: string, condition: Condition): Promise<void> {
    const custom = this.admin.makeApiClient(CustomObjectsApi);
    const ref = { ...CM, plural: 'certificaterequests', namespace, name };
    for (let attempt = 1; ; attempt++) {
      const cr = (await custom.getNamespacedCustomObjectStatus(ref)) as CertificateRequest;
      const conditions = (cr.status?.conditions ?? []).filter((c) => c.type !== condition.type);
      const body = { ...cr, status: { ...cr.status, conditions: [...conditions, { ...condition, lastTransitionTime: new Date().toISOString() }] } };
      try {
        await custom.replaceNamespacedCustomObjectStatus({ ...ref, body });
        return;
      } catch (e) {
        if (!(e instanceof ApiException) || e.code !== 409 || attempt >= 10) throw e;
      }
    }
  }

  async newCaIssuer(name: string): Promise<{ issuerName: string; rootPem: string }> {
    if (!this.controller) throw new Error('cert-manager: newCaIssuer needs the controller running (startController())');
    const core = this.admin.makeApiClient(CoreV1Api);
    const secretRef = { namespace: this.namespace, name };
    // The root of an earlier start against this API server stays the issuer's root.
    if (!(await core.readNamespacedSecret(secretRef).catch(ignore(404)))) {
      const root = await makeRoot(this.dir, name);
      const data = { 'tls.crt': Buffer.from(root.crt).toString('base64'), 'tls.key': Buffer.from(root.key).toString('base64') };
      await core.createNamespacedSecret({ namespace: this.namespace, body: { metadata: { name }, type: 'kubernetes.io/tls', data } }).catch(ignore(409));
    }
    const custom = this.admin.makeApiClient(CustomObjectsApi);
    const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name }, spec: { ca: { secretName: name } } };
    await custom.createClusterCustomObject({ ...CM, plural: 'clusterissuers', body: issuer }).catch(ignore(409));
    await this.waitFor({ ...CM, plural: 'clusterissuers', name }, ready, `ClusterIssuer ${name} Ready`);
    const tlsCrt = (await core.readNamespacedSecret(secretRef)).data?.['tls.crt'];
    if (!tlsCrt) throw new Error(`cert-manager: Secret ${this.namespace}/${name} has no tls.crt`);
    return { issuerName: name, rootPem: Buffer.from(tlsCrt, 'base64').toString('utf8') };
  }

  waitForRequest(namespace: string, name: string, until: (cr: CertificateRequest) => boolean, timeoutMs = WAIT_MS): Promise<CertificateRequest> {
    return this.waitFor({ ...CM, plural: 'certificaterequests', namespace, name }, until, `CertificateRequest ${namespace}/${name}`, timeoutMs);
  }

  /** waitForObject, with the processes' log tail in the error. */
  private async waitFor<T extends object>(ref: ObjectRef, until: (o: T) => boolean, what: string, timeoutMs = WAIT_MS): Promise<T> {
    try {
      return await waitForObject(this.admin, ref, until, timeoutMs);
    } catch (e) {
      throw new Error(`cert-manager: ${what}: ${e instanceof Error ? e.message : String(e)}\n${this.log.tail()}`, { cause: e });
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const adm = this.admin.makeApiClient(AdmissionregistrationV1Api);
      // Best effort when the API server is gone already (then nothing is left to refuse writes).
      const gone = () => undefined;
      await adm.deleteMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG }).catch(gone);
      await adm.deleteValidatingWebhookConfiguration({ name: WEBHOOK_CONFIG }).catch(gone);
      await this.stopController();
      if (this.webhook) await terminate(this.webhook, WEBHOOK_GRACE_MS);
      await rm(this.dir, { recursive: true, force: true });
      untrackDir(this.dir);
      running().delete(this.env);
    })();
    return this.stopping;
  }
}

// ------------------------------------------------------------------------------------------
// starting

const RUNNING = Symbol.for('trellis.cert-manager.running');
const SHARED = Symbol.for('trellis.cert-manager.shared');
/** Per API server, the cert-manager started against it and not stopped (across module copies in one worker). */
function running(): WeakMap<Envtest, CertManager> {
  const g = globalThis as { [RUNNING]?: WeakMap<Envtest, CertManager> };
  return (g[RUNNING] ??= new WeakMap());
}

/**
 * Installs cert-manager's CRDs, starts the webhook and the controller against `env`, and makes the CA
 * ClusterIssuer. Refuses when `env` has a cert-manager that was not stopped (CRDs, webhook configurations
 * and ClusterIssuers are cluster-scoped: two controllers would race to sign the same requests).
 */
export async function startCertManager(env: Envtest, opts: CertManagerOptions = {}): Promise<CertManager> {
  const bins = findBinaries();
  if (running().has(env))
    throw new Error('cert-manager: one is running against this API server already; use sharedCertManager(env), or stop() the other first');
  const dir = await mkdtemp(join(tmpdir(), 'trellis-cert-manager-'));
  trackDir(dir);
  const cm = new CertManagerInstance(env, dir, bins, opts.namespace ?? 'cert-manager', opts.issuerName ?? 'trellis-ca', opts.approver ?? true);
  running().set(env, cm);
  try {
    await env.installCrds([await readFile(bins.crds, 'utf8')]);
    await cm.start();
  } catch (e) {
    await cm.stop();
    throw e;
  }
  return cm;
}

/**
 * One cert-manager (approver on, issuer 'trellis-ca') per API server, shared by the test files of a worker
 * like sharedEnvtest(); killed on process exit. Do not stop() it; a test that stops the controller or
 * starts it with `approver: false` starts it again as it was (`startController({ approver: true })`).
 */
export function sharedCertManager(env: Envtest): Promise<CertManager> {
  const g = globalThis as { [SHARED]?: WeakMap<Envtest, Promise<CertManager>> };
  const shared = (g[SHARED] ??= new WeakMap());
  let cm = shared.get(env);
  if (!cm) {
    cm = startCertManager(env);
    shared.set(env, cm);
    cm.catch(() => shared.delete(env)); // a failed start is not kept: the next call tries again
  }
  return cm;
}
