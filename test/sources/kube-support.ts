/**
 * Shared by the kube source tests: starting the source as a ServiceAccount bound to exactly
 * KUBE_RBAC_RULES, recording every state it passes to onChange, waiting for a state that satisfies
 * a predicate, and building the objects the tests write.
 */
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig, type V1EndpointSlice, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Logs } from '../support/logs.ts';
import { parse, stringify } from 'yaml';
import type { SourceState as BaseState } from '../../src/sources/source.ts';
import { KUBE_RBAC_RULES, startKubeSource, type KubeSource, type KubeSourceState as SourceState } from '../../src/sources/kube/index.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';

export const FAST_BACKOFF = { initialMs: 20, maxMs: 400 };
const WAIT_MS = 20_000;

/** Every state passed to onChange, and promises of the first state (from now, or the latest) that satisfies a test. */
export class Recorder {
  readonly states: SourceState[] = [];
  latest: SourceState | undefined;
  private waiters: { test: (s: SourceState) => boolean; resolve: (s: SourceState) => void }[] = [];

  readonly onChange = (state: SourceState): void => {
    this.states.push(state);
    this.latest = state;
    const ready = this.waiters.filter((w) => w.test(state));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(state);
  };

  /** Resolves with the latest state if it already satisfies `test`, else with the first onChange state that does. */
  until(what: string, test: (s: SourceState) => boolean, timeoutMs = WAIT_MS): Promise<SourceState> {
    if (this.latest && test(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for: ${what}\nlatest state: ${JSON.stringify(summary(this.latest))}`));
      }, timeoutMs);
      const done = (s: SourceState): void => {
        clearTimeout(timer);
        resolve(s);
      };
      this.waiters.push({ test, resolve: done });
    });
  }
}

export { Logs, type LogLine } from '../support/logs.ts';

export interface Started {
  readonly source: KubeSource;
  readonly changes: Recorder;
  readonly logs: Logs;
}

/** The kubeconfig (YAML) of a ServiceAccount bound to exactly KUBE_RBAC_RULES, through `server` when given (the fault proxy). */
export async function trellisKubeconfigYaml(env: Envtest, namespace: string, server?: string): Promise<string> {
  const yaml = await env.serviceAccountKubeconfig({
    namespace,
    name: 'trellis',
    rules: KUBE_RBAC_RULES.clusterWide,
    namespacedRules: KUBE_RBAC_RULES.leaseNamespace,
    ...(server ? { server } : {}),
  });
  if (!server?.startsWith('http:')) return yaml;
  // client-node refuses a plain-HTTP server unless the kubeconfig says so.
  const doc = parse(yaml) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const c of doc.clusters) c.cluster['insecure-skip-tls-verify'] = true;
  return stringify(doc);
}

/** trellisKubeconfigYaml, loaded. */
export async function trellisKubeConfig(env: Envtest, namespace: string, server?: string): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromString(await trellisKubeconfigYaml(env, namespace, server));
  return kc;
}

export async function startSource(kubeConfig: KubeConfig, scope: { namespaces?: readonly string[]; namespaceSelector?: string }): Promise<Started> {
  const logs = new Logs();
  const logger = pino({ level: 'trace' }, { write: logs.write });
  const changes = new Recorder();
  const source = await startKubeSource({ kubeConfig, ...scope, logger, relistBackoff: FAST_BACKOFF })(changes.onChange);
  changes.latest = source.current();
  return { source, changes, logs };
}

export interface Admin {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
}

/** The shared API server with the TrafficPolicy CRD installed, and an admin client of it: every kube source test starts so. */
export async function kubeTestEnv(): Promise<{ env: Envtest; api: Admin }> {
  const env = await sharedEnvtest();
  await env.installCrds([TRAFFIC_POLICY_CRD]);
  return { env, api: admin(env) };
}

export function admin(env: Envtest): Admin {
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  return { core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

export const service = (name: string, port = 80): V1Service => ({
  metadata: { name, labels: { app: name } },
  spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080 }] },
});

export const slice = (name: string, svc: string, addresses: readonly string[], port = 8080): V1EndpointSlice => ({
  metadata: { name, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  ports: [{ name: 'http', port, protocol: 'TCP' }],
});

export const pod = (name: string, labels: Record<string, string> = { app: name }): V1Pod => ({
  metadata: { name, labels, annotations: { 'example.com/note': 'x'.repeat(100) } },
  spec: { serviceAccountName: 'web', nodeName: 'node-1', containers: [{ name: 'app', image: 'example', ports: [{ name: 'http', containerPort: 8080 }] }] },
});

type ListKey = keyof SourceState['inputs'];

/** `namespace/name` of each object of a kind, in the order served. */
export function names(state: BaseState | undefined, list: ListKey): string[] {
  return (state?.inputs[list] ?? []).map(({ object }) => {
    const meta = object.metadata as { name: string; namespace?: string };
    return meta.namespace === undefined ? meta.name : `${meta.namespace}/${meta.name}`;
  });
}

/** Every endpoint address served, as `slice:address`. */
export function endpoints(state: BaseState | undefined): string[] {
  return (state?.inputs.endpointSlices ?? []).flatMap(({ object }) => object.endpoints.flatMap((e) => e.addresses.map((a) => `${object.metadata.name}:${a}`)));
}

export function summary(state: SourceState | undefined): object {
  if (!state) return {};
  return {
    connected: state.connected,
    reason: state.reason,
    services: names(state, 'services'),
    endpoints: endpoints(state),
    pods: names(state, 'pods'),
    namespaces: names(state, 'namespaces'),
    problems: state.problems,
  };
}

/** A minimal TrafficPolicy CRD (the real one comes with the policy issue): any spec, a status subresource. */
export const TRAFFIC_POLICY_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'trafficpolicies.trellis.dev' },
  spec: {
    group: 'trellis.dev',
    scope: 'Namespaced',
    names: { plural: 'trafficpolicies', singular: 'trafficpolicy', kind: 'TrafficPolicy', listKind: 'TrafficPolicyList' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        // client-node's model name for x-kubernetes-preserve-unknown-fields (its serializer drops the JSON name).
        schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
      },
    ],
  },
};
