/**
 * The harness of the TrafficPolicy end-to-end tests (test/e2e/policy-*.test.ts): Trellis serving a
 * manifests directory; named xDS-enabled grpc-js servers on loopback, each in its own process;
 * Services whose EndpointSlices list those servers (with Pods carrying labels, for subsets);
 * TrafficPolicies; proxyless grpc-js-xds clients, each in its own process.
 *
 * Waiting is on events, never on sleeps: a client is ready once a call through xDS succeeded; a
 * policy is in force for a client once Trellis's debug endpoint shows that the client acked a
 * configuration different from the one it held before the policy was written (/debug/config_dump,
 * /debug/syncz). A NACK fails at once, with the client's message.
 *
 * TRELLIS_E2E_DROP_POLICIES=1 writes no policy at all (and waits for nothing): every test must then
 * fail, which shows that each one can.
 */
import { pino } from 'pino';
import { stringify } from 'yaml';
import { serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { loadServeConfig } from '../../src/config/config.ts';
import { startXdsClient, startXdsServer, type ServerBehaviour, type XdsClientProcess, type XdsServerProcess } from '../support/xds-app.ts';
import { manifestsStore, type MeshStore } from './mesh-stores.ts';

/** Set: policies are not written, so that every test shows it can fail. */
export const DROP_POLICIES = process.env.TRELLIS_E2E_DROP_POLICIES === '1';
const CONFIG_TIMEOUT_MS = 15_000;
const POLL_MS = 50;

/** A server listed in a Service: with labels, it gets a Pod carrying them (for pod-label subsets). */
export interface Member {
  readonly server: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PolicyClient extends XdsClientProcess {
  readonly nodeId: string;
  readonly service: string;
}

export interface PolicyMesh {
  readonly namespace: string;
  readonly trellis: RunningTrellis;
  server(name: string): XdsServerProcess;
  /** Writes Service `name` (port 50051) with one EndpointSlice per member; resolves once every member serves. */
  service(name: string, members: readonly Member[]): Promise<void>;
  /** A proxyless client of Service `name`, once one call through xDS succeeded (no policy yet). */
  client(service: string): Promise<PolicyClient>;
  /**
   * Writes TrafficPolicy `name` on the client's Service (`spec` without targetRefs) and waits until
   * the client acked the configuration it makes. The client must not have it already: a policy
   * that changes nothing for it times out.
   */
  applyPolicy(client: PolicyClient, name: string, spec: Readonly<Record<string, unknown>>): Promise<void>;
  /** What the client holds (acked), compact, for failure messages: clusters, routes and HTTP filters, without endpoints. */
  explain(client: PolicyClient): Promise<string>;
  /** Sets every server's behaviour back to answering at once and forgets their counts. */
  resetServers(): Promise<void>;
  close(): Promise<void>;
}

function serviceYaml(namespace: string, name: string, members: readonly Member[], port: (server: string) => number): string {
  const docs: object[] = [{ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'grpc', port: 50051 }] } }];
  for (const m of members) {
    const pod = `${name}-${m.server}`;
    const targetRef = m.labels ? { targetRef: { kind: 'Pod', name: pod, namespace } } : {};
    docs.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-${m.server}`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: port(m.server) }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, zone: 'zone-a', ...targetRef }],
    });
    if (m.labels) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod, namespace, labels: m.labels },
        spec: { containers: [{ name: 'app' }] },
        status: { podIP: '127.0.0.1', phase: 'Running' },
      });
    }
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

function policyYaml(namespace: string, name: string, service: string, spec: Readonly<Record<string, unknown>>): string {
  return stringify({
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], ...spec },
  });
}

interface SynczType {
  readonly type: string;
  readonly state: string;
  readonly lastError?: { readonly message: string };
}
interface SynczProxy {
  readonly proxyId: string;
  readonly state: string;
  readonly types: readonly SynczType[];
}

/** What a client holds, as it acked it: the resources' content (versions left out), and whether it is in sync. */
async function heldConfig(debug: string, nodeId: string): Promise<{ content: string; state: string; nack?: string }> {
  const syncz = (await (await fetch(`${debug}/debug/syncz?format=json`)).json()) as { proxies: SynczProxy[] };
  const proxy = syncz.proxies.find((p) => p.proxyId === nodeId);
  const nack = proxy?.types.find((t) => t.state === 'ERROR')?.lastError?.message;
  const res = await fetch(`${debug}/debug/config_dump?proxy=${encodeURIComponent(nodeId)}`);
  const dump: unknown = res.ok ? await res.json() : null;
  const content = JSON.stringify(dump, (k, v: unknown) => (k === 'version_info' || k === 'error_state' ? undefined : v));
  return { content, state: proxy?.state ?? 'NOT CONNECTED', ...(nack !== undefined ? { nack } : {}) };
}

/**
 * Waits until the client holds, in sync, a configuration `wanted` accepts, the same on two polls
 * running (a new route may bring new clusters to subscribe to, a new cluster its endpoints).
 */
async function heldSettled(debug: string, nodeId: string, wanted: (content: string) => boolean, what: string): Promise<void> {
  const end = Date.now() + CONFIG_TIMEOUT_MS;
  let last = '';
  let seen = { content: '', state: '' };
  while (Date.now() < end) {
    const now = await heldConfig(debug, nodeId);
    if (now.nack !== undefined) throw new Error(`${nodeId} rejected its configuration: ${now.nack}`);
    if (now.state === 'SYNCED' && wanted(now.content) && now.content === last) return;
    last = now.state === 'SYNCED' ? now.content : '';
    seen = now;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const problems = await (await fetch(`${debug}/debug/configz?format=text`)).text();
  throw new Error(`${nodeId}: ${what} within ${CONFIG_TIMEOUT_MS} ms (state ${seen.state})\nconfigz: ${problems}\nheld: ${seen.content.slice(0, 4000)}`);
}

/** Runs `change`, then waits until the client holds, in sync, a configuration other than the one it held before. */
async function configChanged(debug: string, nodeId: string, change: () => Promise<void>): Promise<void> {
  const before = (await heldConfig(debug, nodeId)).content;
  await change();
  await heldSettled(
    debug,
    nodeId,
    (now) => now !== before,
    'its configuration did not change after the policy was written (is the policy translated for proxyless gRPC?)',
  );
}

/**
 * The acceptance interval of a binomial count: n trials of probability p land within k standard
 * deviations (sd = √(n·p·(1−p))) of n·p. With k = 5 a correct implementation fails about once in
 * 1.7 million runs.
 */
export function binomialBounds(n: number, p: number, k = 5): { readonly low: number; readonly high: number; readonly sd: number } {
  const sd = Math.sqrt(n * p * (1 - p));
  return { low: n * p - k * sd, high: n * p + k * sd, sd };
}

/** Trellis on a fresh manifests directory, and the named servers (serving once a Service lists them). */
export async function startPolicyMesh(servers: readonly string[], behaviours: Readonly<Record<string, ServerBehaviour>> = {}): Promise<PolicyMesh> {
  const store: MeshStore = await manifestsStore();
  const ns = store.namespace;
  const logger = pino({ level: process.env.TRELLIS_TEST_VERBOSE ? 'debug' : 'silent' });
  const config = loadServeConfig(
    { manifests: 'unused', 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' },
    {},
  );
  const trellis = await serve(config, logger, await store.source(logger));
  const xdsServer = `127.0.0.1:${trellis.xdsPort}`;
  const debug = `http://127.0.0.1:${trellis.debugPort}`;
  const proxyless = { PROXY_MODE: 'proxyless', NAMESPACE: ns };
  const started = await Promise.all(
    servers.map((name) =>
      startXdsServer({ xdsServer, nodeId: `${name}.${ns}`, nodeMetadata: proxyless, name, ...(behaviours[name] ? { behaviour: behaviours[name] } : {}) }),
    ),
  );
  const byName = new Map(servers.map((name, i) => [name, started[i] as XdsServerProcess]));
  const clients: PolicyClient[] = [];
  const server = (name: string): XdsServerProcess => {
    const s = byName.get(name);
    if (!s) throw new Error(`no server ${name}`);
    return s;
  };
  return {
    namespace: ns,
    trellis,
    server,
    async service(name, members) {
      await store.put(
        `service-${name}.yaml`,
        serviceYaml(ns, name, members, (s) => server(s).port),
      );
      await Promise.all(members.map((m) => server(m.server).waitServing(CONFIG_TIMEOUT_MS)));
    },
    async client(service) {
      const nodeId = `client-${clients.length}-${service}.${ns}`;
      const c = await startXdsClient({ xdsServer, nodeId, nodeMetadata: proxyless, target: `xds:///${service}.${ns}.svc.cluster.local:50051` });
      const pc: PolicyClient = { ...c, nodeId, service };
      clients.push(pc);
      await c.callUntilOk(20_000);
      await heldSettled(debug, nodeId, () => true, 'never in sync');
      return pc;
    },
    async applyPolicy(client, name, spec) {
      if (DROP_POLICIES) return;
      await configChanged(debug, client.nodeId, () => store.put(`policy-${name}.yaml`, policyYaml(ns, name, client.service, spec)));
    },
    async explain(client) {
      const { content } = await heldConfig(debug, client.nodeId);
      const dump = JSON.parse(content) as { configs?: Record<string, unknown>[] } | null;
      const kept = (dump?.configs ?? []).filter(
        (c) => !String(c['@type']).endsWith('EndpointsConfigDump') && !String(c['@type']).endsWith('SecretsConfigDump'),
      );
      return `${client.nodeId} holds: ${JSON.stringify(kept).slice(0, 6000)}`;
    },
    async resetServers() {
      await Promise.all(
        [...byName.values()].map(async (s) => {
          await s.behave({});
          await s.reset();
        }),
      );
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await trellis.close();
      await Promise.all([...byName.values()].map((s) => s.close()));
      await store.close();
    },
  };
}
