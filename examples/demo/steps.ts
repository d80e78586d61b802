/**
 * The demo's steps. Each edits a policy file of the running mesh (as a person or a GitOps sync
 * would), waits until Trellis reports the change acked (/debug/policies: Programmed, acked by every
 * proxy it reaches), drives traffic through the proxyless clients and returns the claims it checked.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Child } from './children.ts';
import { ackedByAll, condition, proxies, waitFor, waitPolicy } from './debug.ts';
import { CALL_ID, FAIL_FIRST } from './proto.ts';
import { byCode, canaryClaims, count, faultClaims, retryClaims, stickyClaim, type CallOutcome, type Claim, type LoadCommand } from './traffic.ts';

export const CATALOG = 'xds:///catalog.shop.svc.cluster.local:50051';
export const PAYMENTS = 'xds:///payments.payments.svc.cluster.local:9090';

export interface Demo {
  /** the demo mesh's manifests directory, which Trellis watches */
  readonly meshDir: string;
  /** http://127.0.0.1:port */
  readonly debug: string;
  /** the proxyless client that takes every feature */
  readonly client: Child;
  readonly clientId: string;
  /** a proxyless client built without ring hash support (GRPC_XDS_EXPERIMENTAL_ENABLE_RING_HASH=false) */
  readonly legacy: Child;
  readonly legacyId: string;
  /** prints a step's heading or a note */
  say(text: string): void;
}

const generations = new Map<string, number>();

/** Writes TrafficPolicy namespace/name on Service `service` into the mesh directory (atomically, as an editor saves); returns its generation. */
async function writePolicy(demo: Demo, namespace: string, name: string, service: string, spec: Record<string, unknown>): Promise<number> {
  const generation = (generations.get(`${namespace}/${name}`) ?? 0) + 1;
  generations.set(`${namespace}/${name}`, generation);
  const doc = {
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace, generation },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], ...spec },
  };
  const file = join(demo.meshDir, namespace, `${name}.yaml`);
  await writeFile(`${file}.tmp`, `# written by npm run demo\n${stringify(doc)}`);
  await rename(`${file}.tmp`, file);
  return generation;
}

async function applyPolicy(demo: Demo, namespace: string, name: string, service: string, spec: Record<string, unknown>): Promise<void> {
  const generation = await writePolicy(demo, namespace, name, service, spec);
  const p = await waitPolicy(demo.debug, { namespace, name, generation }, ackedByAll, 'acked by every proxy');
  demo.say(`    ${namespace}/${name} (generation ${generation}): Programmed, ${condition(p, 'Programmed')?.message ?? ''}`);
}

export async function load(client: Child, cmd: Partial<LoadCommand> & { target: string; count: number }): Promise<CallOutcome[]> {
  const reply = await client.request({ op: 'load', concurrency: 10, rate: 500, deadlineMs: 5000, metadata: {}, ...cmd });
  if (reply.ok !== true) throw new Error(`${client.name}: ${String(reply.error)}`);
  return reply.calls as CallOutcome[];
}

/** Both clients reach the catalog, the main client the payments too: calls through xDS succeed. */
export async function ready(demo: Demo): Promise<Claim> {
  const oneOk = (c: Child, target: string) =>
    waitFor(
      `${c.name}: a call to ${target}`,
      () => load(c, { target, count: 1, deadlineMs: 2000 }),
      (calls) => calls[0]?.code === 'OK',
    );
  await Promise.all([oneOk(demo.client, CATALOG), oneOk(demo.client, PAYMENTS), oneOk(demo.legacy, CATALOG)]);
  const all = await waitFor(
    'every proxy SYNCED',
    () => proxies(demo.debug),
    (ps) => ps.length >= 2 && ps.every((p) => p.state === 'SYNCED'),
  );
  return { ok: true, text: `${all.length} proxyless clients connected, every one SYNCED: ${all.map((p) => p.proxyId).join(', ')}` };
}

function allOk(label: string, calls: readonly CallOutcome[]): Claim {
  const ok = count(calls, (c) => c.code === 'OK');
  return { ok: calls.length > 0 && ok === calls.length, text: `${label}: ${calls.length} calls, ${ok} OK (${byCode(calls)})` };
}

const subset = (version: string, weight: number) => ({ subset: { labels: { version } }, weight });

export async function canary(demo: Demo, v1: number, v2: number): Promise<Claim[]> {
  demo.say(`\n▸ canary on shop/catalog: v1 ${v1}, v2 ${v2} (shop/catalog-canary.yaml)`);
  // Traffic goes on while the change lands: not one call may fail for it.
  const during = load(demo.client, { target: CATALOG, count: 150, concurrency: 4, rate: 100 });
  await applyPolicy(demo, 'shop', 'catalog-canary', 'catalog', { routing: { http: [{ name: 'canary', backends: [subset('v1', v1), subset('v2', v2)] }] } });
  const meanwhile = await during;
  const measured = await load(demo.client, { target: CATALOG, count: 600, concurrency: 20, rate: 1000 });
  return [allOk(`canary ${v1}/${v2}: while the change landed`, meanwhile), ...canaryClaims(measured, { v1, v2 })];
}

export async function retries(demo: Demo): Promise<Claim[]> {
  demo.say('\n▸ payments fails the first attempt of every call (x-fail-first), then a retry policy (payments/payments-policy.yaml)');
  const failing = { [FAIL_FIRST]: '1' };
  const before = await load(demo.client, { target: PAYMENTS, count: 100, metadata: { ...failing, [CALL_ID]: 'plain-{i}' } });
  await applyPolicy(demo, 'payments', 'payments-policy', 'payments', { retries: { attempts: 2, retryOn: ['unavailable'] } });
  const after = await load(demo.client, { target: PAYMENTS, count: 200, metadata: { ...failing, [CALL_ID]: 'retried-{i}' } });
  const pods = [...new Set(after.map((c) => c.pod ?? c.code))].sort();
  const terminating = 'payments-5c8d-y2';
  return [
    ...retryClaims(before, after),
    {
      ok: pods.length > 0 && !pods.includes(terminating),
      text: `answered by ${pods.join(', ')}; none by the terminating ${terminating} (a ready endpoint exists)`,
    },
  ];
}

export async function faults(demo: Demo): Promise<Claim[]> {
  const delay = { ms: 300, percent: 30 };
  const abort = { code: 'ABORTED', percent: 20 };
  demo.say(
    `\n▸ fault injection on payments: delay ${delay.ms} ms at ${delay.percent}%, abort ${abort.code} at ${abort.percent}% (payments/payments-policy.yaml)`,
  );
  await applyPolicy(demo, 'payments', 'payments-policy', 'payments', {
    faultInjection: { delay: { fixedDelay: `${delay.ms}ms`, percent: delay.percent }, abort: { grpcStatus: abort.code, percent: abort.percent } },
  });
  const calls = await load(demo.client, { target: PAYMENTS, count: 400, concurrency: 40, rate: 1000 });
  return faultClaims(calls, delay, abort);
}

/** Ring hash on the catalog: the main client takes it, the client without ring hash NACKs it and keeps its last good configuration. */
export async function nack(demo: Demo): Promise<Claim[]> {
  demo.say('\n▸ ring hash on shop/catalog (shop/catalog-sticky.yaml); storefront-legacy runs without ring hash support');
  // The legacy client calls on while it receives, and rejects, the change.
  const legacyCalls = load(demo.legacy, { target: CATALOG, count: 150, concurrency: 2, rate: 50 });
  const generation = await writePolicy(demo, 'shop', 'catalog-sticky', 'catalog', {
    loadBalancing: { algorithm: 'ringHash', hash: { header: { name: 'x-user' } } },
  });
  const rejected = await waitPolicy(
    demo.debug,
    { namespace: 'shop', name: 'catalog-sticky', generation },
    (p) => condition(p, 'Programmed')?.reason === 'Rejected',
    'rejected',
  );
  const programmed = condition(rejected, 'Programmed');
  const ps = await waitFor(
    `${demo.clientId} acked the ring hash clusters and ${demo.legacyId} NACKed them`,
    () => proxies(demo.debug),
    (list) => list.find((p) => p.proxyId === demo.clientId)?.state === 'SYNCED' && list.some((p) => p.proxyId === demo.legacyId && p.state === 'ERROR'),
  );
  const nacked = ps.find((p) => p.proxyId === demo.legacyId)?.types.find((t) => t.state === 'ERROR');
  const sticky = await load(demo.client, { target: CATALOG, count: 200, concurrency: 10, metadata: { 'x-user': 'user-{i%20}' } });
  return [
    {
      ok: nacked !== undefined && /RING_HASH/.test(nacked.lastError?.message ?? ''),
      text: `/debug/syncz: ${demo.legacyId} ${nacked?.type ?? '?'} ERROR: ${nacked?.lastError?.message ?? '(no NACK)'}`,
    },
    {
      ok: programmed?.status === 'False' && programmed.message.includes(`rejected by 1/`) && programmed.message.includes(demo.legacyId),
      text: `/debug/policies: TrafficPolicy shop/catalog-sticky Programmed=${programmed?.status ?? '?'} (${programmed?.reason ?? '?'}): ${programmed?.message ?? ''}`,
    },
    stickyClaim(`${demo.clientId} with ring hash`, sticky, (c) => `user-${c.i % 20}`),
    allOk(`${demo.legacyId}, calling on through its NACK, on its last good configuration`, await legacyCalls),
  ];
}
