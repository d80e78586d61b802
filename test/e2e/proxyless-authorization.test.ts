/**
 * Authorization (TrafficPolicy `authorization`, gRFC A41) against the real thing: `trellis serve` on
 * a manifests directory, as with workload certificates (--issuer, --mtls-mode STRICT), configures an
 * xDS-enabled grpc-js server (XdsServerCredentials) and grpc-js-xds clients (XdsChannelCredentials),
 * each in its own process, whose bootstraps' `file_watcher` providers read certificates made here by
 * openssl (one CA; the server greeter-0 runs as default/greeter; the callers as default/frontend,
 * default/other and batch/job).
 *
 * Each step's policies are written to the directory in one file, at once; each step waits for events, never on a
 * sleep: the server ACKing the listener that carries exactly that step's policies (seen on Trellis's
 * status callback), and each caller whose outcome the step changes getting its first call under the
 * new rules (grpc-js-xds takes the listener at its ACK and closes the connections it had, so a call
 * already under way can still meet the old rules) — both within the debounce window of the write.
 * Then every caller calls, twice: what the step allows succeeds, what it does not fails with
 * PERMISSION_DENIED. ALLOW and DENY by identity, by namespace and by method (the gRPC method is the
 * path; every call is a POST), DENY before ALLOW, and everything allowed again when the policies go.
 *
 * grpc-js-xds 1.14 implements RBAC only with GRPC_XDS_EXPERIMENTAL_RBAC=true: set for the children
 * here; a server started without it rejects (NACKs) a listener with authorization, keeps serving
 * the one it had, and the policy is Programmed=False (Rejected) with the server's message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig, type ServeConfig } from '../../src/config/config.ts';
import { serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startXdsClient, startXdsServer, XdsCallError, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { manifestsStore, type MeshStore } from './mesh-stores.ts';
import { fileProviders, makePki } from './mtls-support.ts';

const DEBOUNCE_MAX_MS = 200;
/** The debounce window, and what reading the file, building, pushing and the server's ACK may add on a loaded machine. */
const TAKES_EFFECT_WITHIN_MS = DEBOUNCE_MAX_MS + 1_000;
const STEP_TIMEOUT_MS = 15_000;
const TD = 'cluster.local';
const id = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;

/** The callers: pod, namespace, service account. */
const CALLERS = { frontend: ['frontend-0', 'default', 'frontend'], other: ['other-0', 'default', 'other'], job: ['job-0', 'batch', 'job'] } as const;
type Caller = keyof typeof CALLERS;
type Outcome = 'OK' | 'PERMISSION_DENIED';

let dir: string;
let store: MeshStore;
let trellis: RunningTrellis;
let xdsServer: string;
let greeter: XdsServerProcess & { nodeId: string };
const clients = new Map<Caller, XdsClientProcess>();
const others: { close(): Promise<void> }[] = [];
/** Called on every status change of Trellis (an ACK or NACK, a model, a proxy come or gone). */
const waiters = new Set<() => void>();

const node = (pod: string, namespace: string) => ({
  xdsServer,
  nodeId: `${pod}.${namespace}`,
  nodeMetadata: { PROXY_MODE: 'proxyless', NAMESPACE: namespace, POD_NAME: pod },
});

/** Service `name` (grpc 50051) with its Pod (service account `name`) serving on 127.0.0.1:port. */
function serviceYaml(name: string, port: number): string {
  const docs = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ name: 'grpc', port: 50051 }] } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${name}-0`, namespace: 'default' } }],
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-0`, namespace: 'default', labels: { app: name } },
      spec: { serviceAccountName: name, containers: [{ name: 'app', ports: [{ name: 'grpc', containerPort: port }] }] },
      status: { podIP: '127.0.0.1', phase: 'Running' },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

function policyYaml(name: string, service: string, authorization: object): string {
  return stringify({
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: 'default' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], authorization },
  });
}

/** The names of the policies whose rules the listener a proxy has acked carries; undefined while it has none acked. */
function heldPolicies(proxyId: string, listener: string): string[] | undefined {
  const held = trellis.ads.heldResources(proxyId)?.find((h) => h.kind === 'listener');
  const l = held?.resources.find((r) => r.name === listener);
  if (!l) return undefined;
  return [...new Set([...JSON.stringify(l.resource).matchAll(/"default\/([a-z0-9-]+)\/rules\[\d+\]"/g)].map((m) => m[1] ?? ''))].sort();
}

/** Resolves when `holds()` does, checked now and on every status change of Trellis; rejects after STEP_TIMEOUT_MS. */
function until(holds: () => boolean, what: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!holds()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`not within ${STEP_TIMEOUT_MS} ms: ${what()}`));
    }, STEP_TIMEOUT_MS);
    waiters.add(check);
    check();
  });
}

/**
 * Writes exactly these policies (name → authorization) on greeter, in one file, at once: each step
 * is one change, so greeter gets one new listener per step. (grpc-js-xds 1.14 replaces a server's
 * listener by draining the connections it holds; a connection still in its TLS handshake at that
 * moment is not among them, and keeps the listener before, its authorization included, for good.
 * Policies written one file after another reached greeter as several listeners in quick succession
 * on a loaded machine, and a caller reconnecting after the first met that: see the README, Authorization.)
 */
async function writePolicies(policies: Record<string, object>): Promise<void> {
  await store.put(
    'policies.yaml',
    Object.entries(policies)
      .map(([name, authorization]) => policyYaml(name, 'greeter', authorization))
      .join('---\n'),
  );
}

/**
 * Puts exactly these policies on greeter and waits until greeter-0 acked a listener carrying exactly
 * them (each step's names are its own: no earlier listener can pass for it); the milliseconds from
 * the first write, and when the writing began.
 */
async function step(policies: Record<string, object>): Promise<{ ackedMs: number; started: number }> {
  const names = Object.keys(policies).sort();
  const started = performance.now();
  await writePolicies(policies);
  await until(
    () => JSON.stringify(heldPolicies(greeter.nodeId, greeter.listenerName)) === JSON.stringify(names),
    () => `greeter-0 holds a listener with ${JSON.stringify(heldPolicies(greeter.nodeId, greeter.listenerName))}, not ${JSON.stringify(names)}`,
  );
  return { ackedMs: performance.now() - started, started };
}

/** One call by a caller: OK, PERMISSION_DENIED (as gRPC's RBAC refuses), or whatever else happened. */
async function callAs(c: XdsClientProcess): Promise<string> {
  try {
    await c.call({ waitForReady: true, deadlineMs: 5000 });
    return 'OK';
  } catch (err) {
    if (!(err instanceof XdsCallError)) throw err;
    return err.code === 7 && err.details === 'Unauthorized RPC rejected' ? 'PERMISSION_DENIED' : `${err.code}: ${err.details}`;
  }
}

/** One call by each caller; what became of it. */
async function outcomes(): Promise<Record<Caller, string>> {
  const entries = await Promise.all([...clients].map(async ([caller, c]): Promise<[Caller, string]> => [caller, await callAs(c)]));
  return Object.fromEntries(entries) as Record<Caller, string>;
}

/**
 * Each caller whose outcome the step changes calls until it gets the new one: its first call under
 * the new rules. (grpc-js-xds takes a new listener when it ACKs it and closes the connections it
 * had; a call already under way over one of them can still meet the old rules.) The milliseconds
 * since `started` when the last of them got there.
 */
async function firstNewOutcomes(before: Record<Caller, Outcome>, after: Record<Caller, Outcome>, started: number): Promise<number> {
  const changed = [...clients].filter(([caller]) => before[caller] !== after[caller]);
  const times = await Promise.all(
    changed.map(async ([caller, c]) => {
      const seen: string[] = [];
      while (performance.now() - started < STEP_TIMEOUT_MS) {
        const outcome = await callAs(c);
        if (outcome === after[caller]) return performance.now() - started;
        seen.push(outcome);
      }
      throw new Error(`${caller}: no ${after[caller]} within ${STEP_TIMEOUT_MS} ms; it got ${seen.slice(-3).join(', ')}`);
    }),
  );
  return Math.max(0, ...times);
}

/** Starts an xDS-enabled server with its certificate; `rbac`: with GRPC_XDS_EXPERIMENTAL_RBAC=true in its environment. */
async function server(name: string, rbac: boolean): Promise<XdsServerProcess & { nodeId: string }> {
  const before = process.env.GRPC_XDS_EXPERIMENTAL_RBAC;
  if (rbac) process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
  else delete process.env.GRPC_XDS_EXPERIMENTAL_RBAC;
  try {
    const s = await startXdsServer({ ...node(`${name}-0`, 'default'), name, xdsCredentials: true, certificateProviders: fileProviders(dir, name) });
    return Object.assign(s, { nodeId: `${name}-0.default` });
  } finally {
    if (before === undefined) delete process.env.GRPC_XDS_EXPERIMENTAL_RBAC;
    else process.env.GRPC_XDS_EXPERIMENTAL_RBAC = before;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-authz-'));
  await makePki(dir, {
    greeter: id('default', 'greeter'),
    legacy: id('default', 'legacy'),
    ...Object.fromEntries(Object.entries(CALLERS).map(([caller, [, ns, sa]]) => [caller, id(ns, sa)])),
  });
  store = await manifestsStore();
  const flags = {
    manifests: 'unused',
    'xds-address': '127.0.0.1:0',
    'debug-address': '127.0.0.1:0',
    'debounce-min': '20',
    'debounce-max': String(DEBOUNCE_MAX_MS),
  };
  // As `trellis serve --issuer … --mtls-mode STRICT` (workload certificates on). The proxyless
  // applications read their certificates from files (csi-driver-spiffe's layout); nothing of
  // cert-manager is on their path, so the issuer is named and never asked.
  const config: ServeConfig = { ...loadServeConfig(flags, {}), issuer: { kind: 'ClusterIssuer', name: 'files', group: 'cert-manager.io' }, mtlsMode: 'STRICT' };
  trellis = await serve(config, pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' }), await store.source(pino({ level: 'silent' })));
  trellis.onStatusChange(() => [...waiters].forEach((w) => w()));
  xdsServer = `127.0.0.1:${trellis.xdsPort}`;
  greeter = await server('greeter', true);
  await store.put('greeter.yaml', serviceYaml('greeter', greeter.port));
  await greeter.waitServing(20_000);
  for (const [caller, [pod, ns]] of Object.entries(CALLERS) as [Caller, (typeof CALLERS)[Caller]][]) {
    const c = await startXdsClient({
      ...node(pod, ns),
      target: 'xds:///greeter.default.svc.cluster.local:50051',
      xdsCredentials: true,
      certificateProviders: fileProviders(dir, caller),
    });
    clients.set(caller, c);
    await c.callUntilOk(20_000);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([...clients.values(), ...others].map((c) => c.close()));
  await greeter?.close();
  await trellis?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const allow = (rules: object[]) => ({ action: 'ALLOW', rules });
const deny = (rules: object[]) => ({ action: 'DENY', rules });
const SAY_HELLO = { type: 'Exact', value: '/helloworld.Greeter/SayHello' };

/** The steps, in order: the policies on greeter (by name, unique to the step), the outcome for each caller; each step changes some. */
const STEPS: [what: string, policies: Record<string, object>, expected: Record<Caller, Outcome>][] = [
  [
    'ALLOW by identity: only the frontend',
    { 'allow-frontend': allow([{ from: [{ identities: [id('default', 'frontend')] }] }]) },
    { frontend: 'OK', other: 'PERMISSION_DENIED', job: 'PERMISSION_DENIED' },
  ],
  [
    'ALLOW by namespace and method: SayHello for the default namespace',
    { 'allow-default-hello': allow([{ from: [{ namespaces: ['default'] }], to: [{ paths: [SAY_HELLO] }] }]) },
    { frontend: 'OK', other: 'OK', job: 'PERMISSION_DENIED' },
  ],
  [
    'ALLOW by method: a method that is not SayHello, for anyone — SayHello is refused to all',
    { 'allow-goodbye': allow([{ to: [{ paths: [{ type: 'Exact', value: '/helloworld.Greeter/SayGoodbye' }] }] }]) },
    { frontend: 'PERMISSION_DENIED', other: 'PERMISSION_DENIED', job: 'PERMISSION_DENIED' },
  ],
  [
    'DENY by namespace: everyone but batch',
    { 'deny-batch': deny([{ from: [{ namespaces: ['batch'] }] }]) },
    { frontend: 'OK', other: 'OK', job: 'PERMISSION_DENIED' },
  ],
  [
    'DENY by identity and HTTP method (every gRPC call is a POST), beside an ALLOW of both namespaces',
    {
      'allow-both': allow([{ from: [{ namespaces: ['default', 'batch'] }] }]),
      'deny-other-post': deny([{ from: [{ identities: [id('default', 'other')] }], to: [{ methods: ['POST'] }] }]),
    },
    { frontend: 'OK', other: 'PERMISSION_DENIED', job: 'OK' },
  ],
  [
    'DENY before ALLOW: the frontend is denied though its namespace is allowed',
    { 'allow-default': allow([{ from: [{ namespaces: ['default'] }] }]), 'deny-frontend': deny([{ from: [{ identities: [id('default', 'frontend')] }] }]) },
    { frontend: 'PERMISSION_DENIED', other: 'OK', job: 'PERMISSION_DENIED' },
  ],
  ['the policies gone: everyone again', {}, { frontend: 'OK', other: 'OK', job: 'OK' }],
];

describe('authorization on a proxyless gRPC server, with grpc-js-xds and mutual TLS', () => {
  it('without a policy every caller is served', async () => {
    expect(await outcomes()).toEqual({ frontend: 'OK', other: 'OK', job: 'OK' });
  });

  // One after another (vitest runs a file's tests in order): each step starts from the one before.
  let before: Record<Caller, Outcome> = { frontend: 'OK', other: 'OK', job: 'OK' };
  it.each(STEPS)('%s', async (_what, policies, expected) => {
    const { ackedMs, started } = await step(policies);
    const inForceMs = await firstNewOutcomes(before, expected, started);
    const took = `acked ${Math.round(ackedMs)} ms, first call under the new rules ${Math.round(inForceMs)} ms after the write`;
    expect(Math.max(ackedMs, inForceMs), `the change takes effect within the debounce window (and what pushing and the ACK add): ${took}`).toBeLessThan(
      TAKES_EFFECT_WITHIN_MS,
    );
    // Then every caller, once more: exactly the step's outcomes, and for good.
    expect(await outcomes()).toEqual(expected);
    expect(await outcomes()).toEqual(expected);
    before = expected;
  });

  it('the policy status says Programmed, acked by the server, as soon as the server acked it', async () => {
    const { ackedMs } = await step({ 'deny-batch-again': deny([{ from: [{ namespaces: ['batch'] }] }]) });
    expect(ackedMs).toBeLessThan(TAKES_EFFECT_WITHIN_MS);
    const status = trellis.policyStatuses().find((s) => s.name === 'deny-batch-again');
    expect(status?.conditions.map((c) => [c.type, c.status, c.reason, c.type === 'Programmed' ? c.message : ''])).toEqual([
      ['Accepted', 'True', 'Accepted', ''],
      ['ResolvedRefs', 'True', 'ResolvedRefs', ''],
      ['Programmed', 'True', 'Programmed', 'acked by 1/1 proxy'],
    ]);
  });

  it('a grpc-js-xds 1.14 server without GRPC_XDS_EXPERIMENTAL_RBAC rejects the listener: it keeps the one it had, and the policy is Rejected', async () => {
    const legacy = await server('legacy', false);
    others.push(legacy);
    await store.put('legacy.yaml', serviceYaml('legacy', legacy.port));
    await legacy.waitServing(20_000);
    await store.put('policy-legacy.yaml', policyYaml('legacy-callers', 'legacy', allow([{ from: [{ namespaces: ['default'] }] }])));
    const rejected = () =>
      trellis
        .policyStatuses()
        .find((s) => s.name === 'legacy-callers')
        ?.conditions.find((c) => c.type === 'Programmed');
    await until(
      () => rejected()?.reason === 'Rejected',
      () => JSON.stringify(rejected()),
    );
    expect(rejected()).toMatchObject({ status: 'False', message: expect.stringContaining('legacy-0.default') });
    expect(rejected()?.message).toMatch(/envoy\.filters\.http\.rbac\.allow filter validation failed/);
    // What it serves is the listener it acked before, without the authorization: the status is the only place that says so.
    expect(heldPolicies(legacy.nodeId, legacy.listenerName)).toEqual([]);
  });
});
