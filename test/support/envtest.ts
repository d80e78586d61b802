/**
 * A real kube-apiserver and etcd for tests (the binaries in $KUBEBUILDER_ASSETS, by default
 * <repo>/../shared/envtest; see its README). Everything binds to 127.0.0.1 on free ports; the PKI
 * (CA, serving pair with IP SAN 127.0.0.1, service-account key pair) is made at start with openssl
 * and node:crypto in a temp dir, removed at stop.
 *
 * Only the API server runs (no controller manager, scheduler or kubelet): write EndpointSlices
 * yourself, use a fresh namespace per test. The server runs with
 * - --disable-admission-plugins=ServiceAccount: nothing creates a namespace's "default"
 *   ServiceAccount, which Pod admission would otherwise require;
 * - --watch-cache=false (unless startEnvtest({ watchCache: true })): watches and lists read etcd, so
 *   compact() really makes old resourceVersions answer 410 (the watch cache would keep serving them).
 *   The price: no BOOKMARK events, as from any API server without a watch cache;
 * - --etcd-compaction-interval=0: compaction happens only when a test calls compact().
 *
 * Children are killed if this process dies (see processes.ts); TRELLIS_TEST_VERBOSE=1 echoes their output
 * to stderr.
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes, sign as cryptoSign } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, ApiextensionsV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig, loadAllYaml, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1CustomResourceDefinition,
  V1ObjectMeta,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { releasedLoopbackPort } from './ports.ts';
import { launch, LogTail, pollUntil, retryOnPortClash, terminate, trackDir, untrackDir, type Proc } from './processes.ts';

export interface Envtest {
  readonly url: string;
  readonly caPem: string;
  /** YAML text; user `envtest-admin` in system:masters (token auth). */
  readonly adminKubeconfig: string;
  /** A fresh namespace per test (envtest has no controller manager: deleted namespaces stay Terminating). */
  namespace(prefix?: string): Promise<string>;
  /**
   * A ServiceAccount in `namespace`, bound (ClusterRole + ClusterRoleBinding `envtest:<namespace>:<name>`) to exactly
   * `rules` cluster-wide and (Role + RoleBinding of the same name in `namespace`) to exactly `namespacedRules` in its own
   * namespace only, and a kubeconfig (YAML text) that authenticates as it with a token from the TokenRequest API.
   */
  serviceAccountKubeconfig(opts: ServiceAccountOptions): Promise<string>;
  /** Apply CRDs (objects, or YAML text with one or more documents) and wait until Established. */
  installCrds(crds: readonly (object | string)[]): Promise<void>;
  /** Stop (SIGTERM, SIGKILL after 1 s: it waits for open watches otherwise) and start the API server on the same port (etcd keeps its data). */
  restartApiServer(): Promise<void>;
  /** Force etcd compaction of all revisions up to now, so that old resourceVersions answer 410 Gone. */
  compact(): Promise<void>;
  /**
   * A ServiceAccount token signed with the API server's own signing key, with claims of the test's choosing
   * (an expired one, say, which the TokenRequest API will not issue). `claims` go over the defaults of a
   * token the API server issues for `namespace/name` (issuer, subject, kubernetes.io claims, iat/nbf now).
   */
  signServiceAccountToken(namespace: string, name: string, uid: string, claims: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export interface ServiceAccountOptions {
  namespace: string;
  name: string;
  /** Granted cluster-wide (ClusterRole). */
  rules: readonly V1PolicyRule[];
  /** Granted in `namespace` only (Role). */
  namespacedRules?: readonly V1PolicyRule[];
  server?: string;
}

export interface EnvtestOptions {
  /** Run the API server with its watch cache (then compact() no longer expires watches the cache can serve). Default false. */
  watchCache?: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const APISERVER_GRACE_MS = 1_000;
const ETCD_GRACE_MS = 5_000;
const execFileP = promisify(execFile);

// ------------------------------------------------------------------------------------------
// probes

function httpsStatus(url: string, caPem: string, token: string): Promise<number> {
  return new Promise((res, rej) => {
    const req = httpsRequest(url, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 2_000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', rej);
    req.end();
  });
}

// ------------------------------------------------------------------------------------------
// setup

function findAssets(): { etcd: string; apiserver: string } {
  const dir = process.env.KUBEBUILDER_ASSETS ?? resolve(here, '../../../shared/envtest');
  const bins = { etcd: join(dir, 'etcd'), apiserver: join(dir, 'kube-apiserver') };
  for (const b of Object.values(bins)) {
    try {
      accessSync(b, constants.X_OK);
    } catch {
      throw new Error(`envtest: no executable ${b}. Set KUBEBUILDER_ASSETS to the directory holding kube-apiserver and etcd (shared/envtest beside the repo).`);
    }
  }
  return bins;
}

/** CA and serving pair (openssl; node:crypto cannot issue certificates), service-account RSA pair, tokens.csv. */
async function makePki(dir: string, adminToken: string): Promise<string> {
  const ossl = (...args: string[]) =>
    execFileP('openssl', args, { cwd: dir }).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      throw new Error(
        e.code === 'ENOENT' ? 'envtest: `openssl` is not installed (Debian package openssl)' : `envtest: openssl ${args[0]} failed: ${e.stderr ?? e.message}`,
      );
    });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ossl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=trellis-envtest-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await ossl('req', '-new', ...ec, '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  await ossl(
    'x509',
    '-req',
    '-in',
    'serving.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'serving.ext',
    '-out',
    'serving.crt',
  );
  const sa = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await writeFile(join(dir, 'sa.key'), sa.privateKey);
  await writeFile(join(dir, 'sa.pub'), sa.publicKey);
  await writeFile(join(dir, 'tokens.csv'), `${adminToken},envtest-admin,envtest-admin-uid,"system:masters"\n`);
  return readFile(join(dir, 'ca.crt'), 'utf8');
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  const cluster: Record<string, string | boolean> = { server };
  // client-node refuses an http:// server unless TLS verification is (vacuously) skipped.
  if (server.startsWith('https:')) cluster['certificate-authority-data'] = Buffer.from(caPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'envtest', cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user } }],
    'current-context': 'envtest',
  });
}

function kubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

/** Create, or replace when it exists (optimistic concurrency through the read resourceVersion). */
async function upsert<T extends { metadata?: V1ObjectMeta }>(
  obj: T,
  create: () => Promise<unknown>,
  read: () => Promise<T>,
  replace: (o: T) => Promise<unknown>,
): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (!(e instanceof ApiException) || e.code !== 409) throw e;
    const cur = await read();
    await replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } });
  }
}

// ------------------------------------------------------------------------------------------
// the instance

class EnvtestInstance implements Envtest {
  readonly url: string;
  readonly adminKubeconfig: string;
  private readonly admin: KubeConfig;
  private api: Proc | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly log: LogTail,
    private readonly etcd: Proc,
    private readonly etcdUrl: string,
    private readonly apiserverBin: string,
    private readonly apiserverArgs: readonly string[],
    port: number,
    readonly caPem: string,
    private readonly adminToken: string,
  ) {
    this.url = `https://127.0.0.1:${port}`;
    this.adminKubeconfig = kubeconfigYaml(this.url, caPem, 'envtest-admin', adminToken);
    this.admin = kubeConfig(this.adminKubeconfig);
  }

  async signServiceAccountToken(namespace: string, name: string, uid: string, claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: 'https://kubernetes.default.svc',
      sub: `system:serviceaccount:${namespace}:${name}`,
      iat: now,
      nbf: now,
      exp: now + 600,
      'kubernetes.io': { namespace, serviceaccount: { name, uid } },
      ...claims,
    };
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}`;
    const key = await readFile(join(this.dir, 'sa.key'), 'utf8');
    return `${unsigned}.${cryptoSign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
  }

  async startApiServer(): Promise<void> {
    const env = { ...process.env, KUBE_ALLOW_LOOPBACK_ENDPOINTS: '1' };
    const proc = launch('kube-apiserver', this.apiserverBin, this.apiserverArgs, this.log, env);
    this.api = proc;
    await pollUntil('kube-apiserver /readyz', proc, this.log, async () => (await httpsStatus(`${this.url}/readyz`, this.caPem, this.adminToken)) === 200);
  }

  async namespace(prefix = 'test'): Promise<string> {
    const clean =
      prefix
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 50) || 'test';
    const name = `${clean}-${randomBytes(3).toString('hex')}`;
    await this.admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    return name;
  }

  async serviceAccountKubeconfig(opts: ServiceAccountOptions): Promise<string> {
    const { namespace, name } = opts;
    const core = this.admin.makeApiClient(CoreV1Api);
    const rbac = this.admin.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch((e: unknown) => {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
    });
    const roleName = `envtest:${namespace}:${name}`;
    const role: V1ClusterRole = { metadata: { name: roleName }, rules: [...opts.rules] };
    await upsert(
      role,
      () => rbac.createClusterRole({ body: role }),
      () => rbac.readClusterRole({ name: roleName }),
      (body) => rbac.replaceClusterRole({ name: roleName, body }),
    );
    const binding: V1ClusterRoleBinding = {
      metadata: { name: roleName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    };
    await upsert(
      binding,
      () => rbac.createClusterRoleBinding({ body: binding }),
      () => rbac.readClusterRoleBinding({ name: roleName }),
      (body) => rbac.replaceClusterRoleBinding({ name: roleName, body }),
    );
    const namespacedRules = opts.namespacedRules ?? [];
    if (namespacedRules.length > 0) {
      const nsRole: V1Role = { metadata: { name: roleName, namespace }, rules: [...namespacedRules] };
      await upsert(
        nsRole,
        () => rbac.createNamespacedRole({ namespace, body: nsRole }),
        () => rbac.readNamespacedRole({ name: roleName, namespace }),
        (body) => rbac.replaceNamespacedRole({ name: roleName, namespace, body }),
      );
      const nsBinding: V1RoleBinding = {
        metadata: { name: roleName, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      };
      await upsert(
        nsBinding,
        () => rbac.createNamespacedRoleBinding({ namespace, body: nsBinding }),
        () => rbac.readNamespacedRoleBinding({ name: roleName, namespace }),
        (body) => rbac.replaceNamespacedRoleBinding({ name: roleName, namespace, body }),
      );
    }
    const user = `system:serviceaccount:${namespace}:${name}`;
    await this.waitUntilAuthorized(user, namespace, opts.rules);
    await this.waitUntilAuthorized(user, namespace, namespacedRules, namespace);
    const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 6 * 3600 } } });
    return kubeconfigYaml(opts.server ?? this.url, this.caPem, `${namespace}-${name}`, tr.status?.token ?? '');
  }

  /** RBAC is read from the API server's own informers; wait (a poll, like readiness) until the first rule is in effect. */
  private async waitUntilAuthorized(user: string, namespace: string, rules: readonly V1PolicyRule[], inNamespace?: string): Promise<void> {
    const rule = rules[0];
    if (!rule) return;
    const star = (v: string | undefined, dflt: string) => (v === undefined || v === '*' ? dflt : v);
    const verb = star(rule.verbs[0], 'get');
    const spec = {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      ...(rule.nonResourceURLs?.[0]
        ? { nonResourceAttributes: { path: rule.nonResourceURLs[0].replace('*', 'x'), verb } }
        : {
            resourceAttributes: {
              verb,
              group: star(rule.apiGroups?.[0], ''),
              resource: star(rule.resources?.[0], 'pods'),
              name: rule.resourceNames?.[0],
              namespace: inNamespace,
            },
          }),
    };
    const authz = this.admin.makeApiClient(AuthorizationV1Api);
    await pollUntil(
      `RBAC for ${user}`,
      this.api,
      this.log,
      async () => (await authz.createSubjectAccessReview({ body: { spec } })).status?.allowed === true,
      10_000,
    );
  }

  async installCrds(crds: readonly (object | string)[]): Promise<void> {
    // YAML goes through client-node's own loader, which maps `x-kubernetes-*` keys to its model's
    // names; parsed plainly, the API client's serializer would drop them. Objects are taken to be in
    // the model's form already.
    const objs = crds.flatMap((c) => (typeof c === 'string' ? (loadAllYaml(c) as unknown[]).filter((o) => o !== null) : [c])) as V1CustomResourceDefinition[];
    const ext = this.admin.makeApiClient(ApiextensionsV1Api);
    for (const crd of objs) {
      const name = crd.metadata?.name ?? '';
      await upsert(
        crd,
        () => ext.createCustomResourceDefinition({ body: crd }),
        () => ext.readCustomResourceDefinition({ name }),
        (body) => ext.replaceCustomResourceDefinition({ name, body }),
      );
    }
    for (const crd of objs) {
      const name = crd.metadata?.name ?? '';
      await pollUntil(
        `CRD ${name} Established`,
        this.api,
        this.log,
        async () => {
          const cur = await ext.readCustomResourceDefinition({ name });
          return cur.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
        },
        30_000,
      );
    }
  }

  async restartApiServer(): Promise<void> {
    if (this.api) await terminate(this.api, APISERVER_GRACE_MS);
    await this.startApiServer();
  }

  async compact(): Promise<void> {
    const post = async (path: string, body: object) => {
      const r = await fetch(`${this.etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      return { ok: r.ok, text: await r.text() };
    };
    const range = await post('/v3/kv/range', { key: 'AA==' });
    const revision = (JSON.parse(range.text) as { header?: { revision?: string } }).header?.revision;
    if (!range.ok || revision === undefined) throw new Error(`envtest: etcd range failed: ${range.text}`);
    const c = await post('/v3/kv/compaction', { revision, physical: true });
    // Compacting an already compacted revision (nothing written since) is not an error for us.
    if (!c.ok && !c.text.includes('compacted')) throw new Error(`envtest: etcd compaction failed: ${c.text}`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.api) await terminate(this.api, APISERVER_GRACE_MS);
      await terminate(this.etcd, ETCD_GRACE_MS);
      await rm(this.dir, { recursive: true, force: true });
      untrackDir(this.dir);
    })();
    return this.stopping;
  }
}

async function startOnce(opts: EnvtestOptions): Promise<EnvtestInstance> {
  const bins = findAssets();
  const dir = await mkdtemp(join(tmpdir(), 'trellis-envtest-'));
  trackDir(dir);
  const log = new LogTail('envtest');
  const adminToken = randomBytes(24).toString('hex');
  const caPem = await makePki(dir, adminToken).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
    throw e;
  });
  const [eport, pport, aport] = [await releasedLoopbackPort(), await releasedLoopbackPort(), await releasedLoopbackPort()];
  const etcdUrl = `http://127.0.0.1:${eport}`;
  const peerUrl = `http://127.0.0.1:${pport}`;
  const etcd = launch(
    'etcd',
    bins.etcd,
    [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--logger=zap',
      '--log-level=warn',
    ],
    log,
  );
  const f = (n: string) => join(dir, n);
  const args = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${aport}`,
    `--tls-cert-file=${f('serving.crt')}`,
    `--tls-private-key-file=${f('serving.key')}`,
    `--client-ca-file=${f('ca.crt')}`,
    `--token-auth-file=${f('tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    '--disable-admission-plugins=ServiceAccount',
    '--etcd-compaction-interval=0',
    `--watch-cache=${opts.watchCache === true}`,
    '--v=0',
  ];
  const env = new EnvtestInstance(dir, log, etcd, etcdUrl, bins.apiserver, args, aport, caPem, adminToken);
  try {
    await pollUntil('etcd /health', etcd, log, async () => {
      const r = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return ((await r.json()) as { health?: string }).health === 'true';
    });
    await env.startApiServer();
  } catch (e) {
    await env.stop();
    throw e;
  }
  return env;
}

/** Starts etcd and kube-apiserver (about 3 s). Retries twice when a picked port was taken in the meantime. */
export function startEnvtest(opts: EnvtestOptions = {}): Promise<Envtest> {
  return retryOnPortClash(() => startOnce(opts));
}

const SHARED = Symbol.for('trellis.envtest.shared');
/** Shared across the test files of one vitest worker: the first call starts it, later calls reuse it; stopped on process exit. Do not stop() it. */
export function sharedEnvtest(): Promise<Envtest> {
  const g = globalThis as { [SHARED]?: Promise<Envtest> };
  g[SHARED] ??= startEnvtest();
  return g[SHARED];
}
