/**
 * TrafficPolicy status write-back against a real API server, with two Trellis replicas started as
 * `trellis serve --kubeconfig` starts them (runServe), each as a ServiceAccount bound to exactly
 * KUBE_RBAC_RULES (a ClusterRole, and a Role in the lease namespace for Leases and ConfigMaps): both serve; exactly one (the lease holder) writes status, through the status
 * subresource, with observedGeneration; when it stops, the other takes over within the lease
 * duration and rewrites what is stale.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe, type ServeHandle } from '../../src/pipeline/index.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { KUBE_RBAC_RULES } from '../../src/sources/kube/index.ts';
import { SotwClient } from '../support/ads-client.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { admin, Logs, service, type Admin } from './kube-support.ts';

// Long enough that a takeover within it can only come from the stopped leader releasing its lease (one that
// expired would take the whole duration), with room for a loaded CI machine (it took 2.5 s there once).
const LEASE_SECONDS = 10;
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const GROUP = { group: 'trellis.dev', version: 'v1alpha1', plural: 'trafficpolicies' } as const;

interface Replica {
  readonly id: string;
  readonly handle: ServeHandle;
  readonly logs: Logs;
  writes(): number;
}

interface StoredPolicy {
  metadata: { generation: number; resourceVersion: string; managedFields?: { manager?: string; subresource?: string }[] };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime?: string }[];
  };
}

let env: Envtest;
let nacker: SotwClient | undefined;
let api: Admin;
let ns: string;
let dir: string;
const replicas: Replica[] = [];

async function startReplica(id: string): Promise<Replica> {
  const kubeconfig = join(dir, 'kubeconfig');
  const logs = new Logs();
  const logger = pino({ level: 'debug' }, { write: logs.write });
  const config = loadServeConfig(
    {
      kubeconfig,
      namespaces: ns,
      'lease-namespace': ns,
      id,
      'xds-address': '127.0.0.1:0',
      'debug-address': '127.0.0.1:0',
      'debounce-min': '10',
      'debounce-max': '50',
    },
    {},
  );
  const handle = await runServe(config, logger, { leaseDurationSeconds: LEASE_SECONDS, statusIntervalMs: 50, boardPollMs: 200 });
  const r = { id, handle, logs, writes: () => logs.lines.filter((l) => l.msg === 'status written').length };
  replicas.push(r);
  return r;
}

async function read(name: string): Promise<StoredPolicy> {
  return (await api.custom.getNamespacedCustomObject({ ...GROUP, namespace: ns, name })) as StoredPolicy;
}

const condition = (p: StoredPolicy, type: string) => p.status?.conditions?.find((c) => c.type === type);

/** Resolves once `replica` has logged a status write for `policy` at `generation` (with `condition`, e.g. 'Programmed=False (Rejected)'). */
function written(replica: Replica, policy: string, generation: number, condition?: string): Promise<void> {
  return replica.logs.until(`${replica.id} writes ${policy} generation ${generation} ${condition ?? ''}`, (lines) =>
    lines.some(
      (l) =>
        l.msg === 'status written' &&
        l.policy === `TrafficPolicy ${ns}/${policy}` &&
        l.generation === generation &&
        (condition === undefined || (l.conditions as string[]).includes(condition)),
    ),
  );
}

beforeAll(async () => {
  env = await sharedEnvtest();
  api = admin(env);
  await env.installCrds([await readFile('crds/trafficpolicy.yaml', 'utf8')]);
  ns = await env.namespace('status');
  dir = await mkdtemp(join(tmpdir(), 'trellis-status-'));
  await writeFile(
    join(dir, 'kubeconfig'),
    await env.serviceAccountKubeconfig({ namespace: ns, name: 'trellis', rules: KUBE_RBAC_RULES.clusterWide, namespacedRules: KUBE_RBAC_RULES.leaseNamespace }),
  );
  await api.core.createNamespacedService({ namespace: ns, body: service('web') });
  const policy = (name: string, target: string) => ({
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: target }], retries: { attempts: 2 } },
  });
  await api.custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, body: policy('web-retries', 'web') });
  await api.custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, body: policy('orphan', 'missing') });
  // On a Service of its own, so that the NACKs of the web route below say nothing about it.
  await api.core.createNamespacedService({ namespace: ns, body: service('api') });
  const unrouted = policy('unrouted', 'api');
  await api.custom.createNamespacedCustomObject({
    ...GROUP,
    namespace: ns,
    body: { ...unrouted, spec: { ...unrouted.spec, routing: { http: [{ backends: [{}, { service: 'nope' }] }] } } },
  });
});

afterAll(async () => {
  nacker?.close();
  for (const r of replicas.splice(0)) await r.handle.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('TrafficPolicy status with two replicas', () => {
  let a: Replica;
  let b: Replica;

  it('both serve; exactly one writes status, through the status subresource, with observedGeneration', async () => {
    a = await startReplica('a');
    await a.logs.until('a leads', (lines) => lines.some((l) => l.msg === 'became the leader: writing status'));
    b = await startReplica('b');
    // A proxy of b's rejects the policy's route: b publishes it on its progress board, and a, which
    // writes status but has no proxy of its own, reports it.
    nacker = await SotwClient.connect(`127.0.0.1:${b.handle.running.xdsPort}`, { node: { id: `client.${ns}`, metadata: { PROXY_MODE: 'proxyless' } } });
    nacker.subscribe(RDS, [`web.${ns}.svc.cluster.local:80`]);
    nacker.nack(await nacker.next(RDS), 'route web: retry policy not supported here');
    await b.logs.until('b sees the NACK', (lines) => lines.some((l) => l.msg === 'proxy rejected configuration (NACK)'));
    await Promise.all([written(a, 'web-retries', 1, 'Programmed=False (Rejected)'), written(a, 'orphan', 1), written(a, 'unrouted', 1)]);

    const web = await read('web-retries');
    expect(web.status?.observedGeneration).toBe(1);
    expect([condition(web, 'Accepted')?.status, condition(web, 'Accepted')?.reason, condition(web, 'Accepted')?.observedGeneration]).toEqual([
      'True',
      'Accepted',
      1,
    ]);
    expect(condition(web, 'Programmed')).toMatchObject({
      status: 'False',
      reason: 'Rejected',
      message: `rejected by 1/1 proxy: client.${ns}: route web: retry policy not supported here`,
    });
    expect(web.metadata.managedFields?.some((f) => f.subresource === 'status')).toBe(true);
    const orphan = await read('orphan');
    expect(condition(orphan, 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'TargetNotFound',
      message: `spec.targetRefs[0]: Service ${ns}/missing not found`,
    });

    // A backend that does not exist: the rest of the policy is accepted, and ResolvedRefs says what is missing.
    const unrouted = await read('unrouted');
    expect(condition(unrouted, 'Accepted')?.status).toBe('True');
    expect(condition(unrouted, 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'BackendNotFound',
      message: `spec.routing.http[0].backends[1].service: Service ${ns}/nope not found; left out`,
    });

    // Both replicas serve and report the same statuses; b has written nothing.
    for (const r of [a, b]) {
      const res = await fetch(`http://127.0.0.1:${r.handle.running.debugPort}/debug/policies?format=text`);
      expect(await res.text()).toContain(`TrafficPolicy ${ns}/web-retries: Accepted=True`);
      expect((await fetch(`http://127.0.0.1:${r.handle.running.debugPort}/readyz`)).status).toBe(200);
    }
    const bView = await (await fetch(`http://127.0.0.1:${b.handle.running.debugPort}/debug/policies?format=text`)).text();
    expect(bView).toContain(
      `TrafficPolicy ${ns}/web-retries: Programmed=False (Rejected): rejected by 1/1 proxy: client.${ns}: route web: retry policy not supported here`,
    );
    expect(b.handle.elector?.isLeader).toBe(false);
    expect(b.writes()).toBe(0);
  });

  it('writes nothing again while nothing changes (a status just written is not stale)', async () => {
    const before = { writes: a.writes(), rv: (await read('web-retries')).metadata.resourceVersion };
    const passes = () => a.logs.lines.filter((l) => l.msg === 'status pass').length;
    // Label changes make both replicas rebuild their model, and the leader run status passes.
    for (const n of [1, 2, 3]) {
      const seen = passes();
      await api.custom.patchNamespacedCustomObject({
        ...GROUP,
        namespace: ns,
        name: 'orphan',
        body: [{ op: 'add', path: '/metadata/labels', value: { touch: String(n) } }],
      });
      await a.logs.until(`a status pass after touch ${n}`, () => passes() > seen);
    }
    expect(a.writes()).toBe(before.writes);
    expect((await read('web-retries')).metadata.resourceVersion).toBe(before.rv);
  });

  it('when the leader stops, the other takes over within the lease duration and rewrites what is stale', async () => {
    const stopped = performance.now();
    const idx = replicas.indexOf(a);
    replicas.splice(idx, 1);
    await a.handle.stop();
    // A new generation while b takes over: its status is stale until b writes it.
    await api.custom.patchNamespacedCustomObject({
      ...GROUP,
      namespace: ns,
      name: 'web-retries',
      body: [{ op: 'replace', path: '/spec/retries/attempts', value: 3 }],
    });
    await written(b, 'web-retries', 2);
    expect(performance.now() - stopped).toBeLessThan(LEASE_SECONDS * 1000);
    const web = await read('web-retries');
    expect(web.metadata.generation).toBe(2);
    expect(web.status?.observedGeneration).toBe(2);
    expect(condition(web, 'Accepted')?.observedGeneration).toBe(2);
    // The proxy has been sent the new route and not acked it yet; once it does, Programmed is True.
    const fixed = await nacker!.next(RDS);
    expect(condition(web, 'Programmed')).toMatchObject({ status: 'False', reason: 'Pending', message: 'acked by 0/1 proxy' });
    nacker!.ack(fixed);
    await written(b, 'web-retries', 2, 'Programmed=True (Programmed)');
    expect(condition(await read('web-retries'), 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed', message: 'acked by 1/1 proxy' });
  });

  it('holds its lease and boards in the lease namespace, and may write no Lease anywhere else, nor touch any ConfigMap but the trust bundle', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(await readFile(join(dir, 'kubeconfig'), 'utf8'));
    const core = kc.makeApiClient(CoreV1Api);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    // What the replicas above did with these rules, as the service account sees it.
    const lease = await coordination.readNamespacedLease({ name: 'trellis-status-writer', namespace: ns });
    expect(lease.spec?.holderIdentity).toBe('b');
    const boards = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'trellis.dev/progress-board=true' });
    expect(boards.items.length).toBeGreaterThan(0);
    // Another namespace's leader locks and ConfigMaps are out of reach. Creating a ConfigMap is allowed anywhere (the trust
    // bundle is published in every watched namespace, and RBAC cannot narrow create by name); reading or replacing one is
    // allowed only for trellis-ca-root-cert.
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 'allowed',
        (e: unknown) => (e instanceof ApiException ? e.code : e),
      );
    const meta = { name: `trellis-probe-${ns}`, namespace: 'kube-system' };
    const locked = { name: `trellis-locked-${ns}`, namespace: 'kube-system' };
    await api.core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: locked, data: { a: '1' } } });
    expect(await status(core.readNamespacedConfigMap(locked))).toBe(403);
    expect(await status(core.replaceNamespacedConfigMap({ ...locked, body: { metadata: locked, data: { a: '2' } } }))).toBe(403);
    expect(await status(core.deleteNamespacedConfigMap(locked))).toBe(403);
    expect(await status(core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: meta } }))).toBe('allowed');
    expect(await status(coordination.createNamespacedLease({ namespace: 'kube-system', body: { metadata: meta, spec: { holderIdentity: 'x' } } }))).toBe(403);
    expect(await status(coordination.readNamespacedLease({ namespace: 'kube-system', name: 'kube-controller-manager' }))).toBe(403);
    expect(await status(core.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
  });
});
