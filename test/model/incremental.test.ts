/**
 * A build costs what changed (src/model/memo.ts): given the previous model, buildModel works out again
 * only the steps whose inputs changed. What it gives is exactly what a build from scratch gives, with
 * every unchanged service and workload the previous model's very object.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, type ModelOptions } from '../../src/model/build.ts';
import {
  endpointSliceSchema,
  nodeSchema,
  podSchema,
  serviceSchema,
  trafficPolicyInputSchema,
  type MeshInputs,
  type ServiceObject,
} from '../../src/model/inputs.ts';
import type { MeshModel } from '../../src/model/types.ts';

const NAMESPACES = ['alpha', 'beta'];
const APPS = ['web', 'api', 'db'];

function service(namespace: string, app: string, extraPorts: unknown[] = []): MeshInputs['services'][number] {
  const object = serviceSchema.parse({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, namespace },
    spec: {
      clusterIP: `10.96.${NAMESPACES.indexOf(namespace)}.${APPS.indexOf(app) + 1}`,
      selector: { app },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }, ...extraPorts],
    },
  });
  return { object, origin: { file: `${namespace}/${app}.yaml`, document: 0 } };
}

function slice(namespace: string, app: string, addresses: readonly string[], zone?: string): MeshInputs['endpointSlices'][number] {
  const object = endpointSliceSchema.parse({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${app}-1`, namespace, labels: { 'kubernetes.io/service-name': app } },
    addressType: 'IPv4',
    endpoints: addresses.map((address, i) => ({
      addresses: [address],
      conditions: { ready: true },
      nodeName: `node-${i % 2}`,
      ...(zone ? { zone } : {}),
      targetRef: { kind: 'Pod', name: `${app}-${i}`, namespace },
    })),
    ports: [{ name: 'http', port: 8080 }],
  });
  return { object, origin: { file: `${namespace}/${app}-slice.yaml`, document: 0 } };
}

function pod(namespace: string, app: string, i: number, labels: Record<string, string> = {}): MeshInputs['pods'][number] {
  const object = podSchema.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-${i}`, namespace, labels: { app, 'trellis.dev/tls-mode': 'mesh', ...labels } },
    spec: { serviceAccountName: app, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { podIP: address(namespace, app, i) },
  });
  return { object, origin: {} };
}

function node(name: string, zone: string): MeshInputs['nodes'][number] {
  const object = nodeSchema.parse({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': zone } },
  });
  return { object, origin: {} };
}

function policy(namespace: string, target: string, spec: Record<string, unknown>): MeshInputs['trafficPolicies'][number] {
  const object = trafficPolicyInputSchema.parse({
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name: `${target}-policy`, namespace },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: target }], ...spec },
  });
  return { object, origin: { file: `${namespace}/${target}-policy.yaml`, document: 0 } };
}

function address(namespace: string, app: string, i: number): string {
  return `10.${NAMESPACES.indexOf(namespace) + 1}.${APPS.indexOf(app)}.${i + 1}`;
}

/** Two namespaces of three services, each with a slice of two endpoints on two nodes and their two pods; web in alpha also has a UDP port (a warning). */
function mesh(): MeshInputs {
  const pairs = NAMESPACES.flatMap((namespace) => APPS.map((app) => [namespace, app] as const));
  const udp = { name: 'dns', port: 53, protocol: 'UDP' };
  return {
    namespaces: [],
    nodes: [node('node-0', 'eu-1a'), node('node-1', 'eu-1b')],
    services: pairs.map(([namespace, app]) => service(namespace, app, namespace === 'alpha' && app === 'web' ? [udp] : [])),
    endpointSlices: pairs.map(([namespace, app]) =>
      slice(
        namespace,
        app,
        [0, 1].map((i) => address(namespace, app, i)),
      ),
    ),
    pods: pairs.flatMap(([namespace, app]) => [0, 1].map((i) => pod(namespace, app, i))),
    trafficPolicies: [policy('beta', 'api', { timeouts: { request: '5s' } })],
  };
}

/** The inputs with the element of one list replaced, as a source gives them: a new list, every other element the same object. */
function replaced<K extends keyof MeshInputs>(inputs: MeshInputs, list: K, index: number, by: MeshInputs[K][number]): MeshInputs {
  const next = [...inputs[list]] as MeshInputs[K][number][];
  next[index] = by;
  return { ...inputs, [list]: next };
}

/** The same inputs, each object re-wrapped in a new Input (as the kube source does when a kind's list is rebuilt). */
function rewrapped(inputs: MeshInputs): MeshInputs {
  const wrap = <T>(list: readonly { object: T; origin: object }[]) => list.map((i) => ({ object: i.object, origin: { ...i.origin } }));
  return {
    namespaces: wrap(inputs.namespaces),
    nodes: wrap(inputs.nodes),
    services: wrap(inputs.services),
    endpointSlices: wrap(inputs.endpointSlices),
    pods: wrap(inputs.pods),
    trafficPolicies: wrap(inputs.trafficPolicies),
  };
}

const PLAIN: ModelOptions = { domain: 'cluster.local', trustDomain: 'cluster.local' };
const MTLS: ModelOptions = { ...PLAIN, mtls: { enabled: true, defaultMode: 'PERMISSIVE' } };

const at = (inputs: MeshInputs, namespace: string, app: string) =>
  inputs.services.findIndex((s) => s.object.metadata.namespace === namespace && s.object.metadata.name === app);

/** The changes a source can bring, each to one object. */
const CHANGES: [string, (inputs: MeshInputs) => MeshInputs][] = [
  ['an EndpointSlice', (i) => replaced(i, 'endpointSlices', at(i, 'alpha', 'api'), slice('alpha', 'api', ['10.9.9.9', address('alpha', 'api', 1)]))],
  [
    'a Service',
    (i) => {
      const index = at(i, 'beta', 'db');
      const old = i.services[index]?.object as ServiceObject;
      const object: ServiceObject = { ...old, spec: { ...old.spec, ports: [{ ...old.spec.ports[0]!, name: 'grpc' }] } };
      return replaced(i, 'services', index, { object, origin: { file: 'beta/db.yaml', document: 0 } });
    },
  ],
  [
    "a Pod's labels",
    (i) => {
      const index = i.pods.findIndex((p) => p.object.metadata.namespace === 'alpha' && p.object.metadata.name === 'web-1');
      return replaced(i, 'pods', index, pod('alpha', 'web', 1, { app: 'api', 'trellis.dev/tls-mode': 'off' }));
    },
  ],
  ["a Node's zone", (i) => replaced(i, 'nodes', 1, node('node-1', 'eu-1c'))],
  ['a TrafficPolicy', (i) => replaced(i, 'trafficPolicies', 0, policy('beta', 'api', { timeouts: { request: '7s' } }))],
  ['nothing but the wrappers', (i) => rewrapped(i)],
];

function same(a: MeshModel, b: MeshModel): void {
  expect(a.services).toEqual(b.services);
  expect(a.workloads).toEqual(b.workloads);
  expect(a.policies).toEqual(b.policies);
  expect(a.diagnostics).toEqual(b.diagnostics);
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
}

describe('a build with the previous model', () => {
  it('after one EndpointSlice changed: every other service and workload is the previous very object; the changed service is new', () => {
    const before = mesh();
    const first = buildModel(before, PLAIN);
    const after = CHANGES[0]![1](before);
    const second = buildModel(after, PLAIN, first);
    for (const [i, s] of second.services.entries()) {
      if (s.namespace === 'alpha' && s.name === 'api') {
        expect(s).not.toBe(first.services[i]);
        expect(s.ports[0]?.endpoints.map((e) => e.address)).toContain('10.9.9.9');
      } else expect(s).toBe(first.services[i]);
    }
    second.workloads.forEach((w, i) => expect(w).toBe(first.workloads[i]));
    expect(second.workloads).toHaveLength(12);
  });

  it('after a change that changes nothing of an entry (a slice rewritten the same), the entry is still the previous very object', () => {
    const before = mesh();
    const first = buildModel(before, PLAIN);
    const second = buildModel(
      replaced(before, 'endpointSlices', 0, slice('alpha', 'web', [address('alpha', 'web', 0), address('alpha', 'web', 1)])),
      PLAIN,
      first,
    );
    second.services.forEach((s, i) => expect(s).toBe(first.services[i]));
  });

  it.each(CHANGES.flatMap(([what, change]) => [PLAIN, MTLS].map((opts) => [what, opts.mtls ? 'mTLS on' : 'mTLS off', change, opts] as const)))(
    'after %s changed (%s): the same as a build from scratch, sharing whatever did not change',
    (_what, _mtls, change, opts) => {
      const before = mesh();
      const first = buildModel(before, opts);
      const after = change(before);
      const incremental = buildModel(after, opts, first);
      same(incremental, buildModel(after, opts));
      const previous = new Map(first.services.map((s) => [`${s.namespace}/${s.name}`, s]));
      for (const s of incremental.services) {
        const last = previous.get(`${s.namespace}/${s.name}`);
        if (JSON.stringify(last) === JSON.stringify(s)) expect(s).toBe(last);
      }
      const workloads = new Map(first.workloads.map((w) => [`${w.namespace}/${w.name}`, w]));
      for (const w of incremental.workloads) {
        const last = workloads.get(`${w.namespace}/${w.name}`);
        if (JSON.stringify(last) === JSON.stringify(w)) expect(w).toBe(last);
      }
      // And once more, from that model, with the change undone.
      same(buildModel(before, opts, incremental), buildModel(before, opts));
    },
  );

  it('the same as a build from scratch when the options change (mTLS turned on), with the previous model built without', () => {
    const inputs = mesh();
    same(buildModel(inputs, MTLS, buildModel(inputs, PLAIN)), buildModel(inputs, MTLS));
  });

  it('keeps reporting what a step it did not work out again reported: the UDP port of a Service no change touched, change after change', () => {
    const before = mesh();
    const first = buildModel(before, PLAIN);
    const udp = (m: MeshModel) => m.diagnostics.filter((d) => d.field === 'spec.ports[1].protocol');
    expect(udp(first)).toEqual([expect.objectContaining({ severity: 'warning', object: { kind: 'Service', namespace: 'alpha', name: 'web' } })]);
    const web = (m: MeshModel) => m.services.find((s) => s.namespace === 'alpha' && s.name === 'web');
    let model = first;
    let inputs = before;
    for (const [what, change] of CHANGES) {
      inputs = change(inputs);
      const next = buildModel(inputs, PLAIN, model);
      expect(udp(next)).toEqual(udp(first));
      // Only the node's zone is in the web service's endpoints (its localities): it is not worked out again otherwise.
      if (what !== "a Node's zone") expect(web(next)).toBe(web(model));
      model = next;
    }
  });

  it('with a previous model that was not built here (read back from JSON): the same, sharing by content', () => {
    const before = mesh();
    const first = JSON.parse(JSON.stringify(buildModel(before, MTLS))) as MeshModel;
    const second = buildModel(before, MTLS, first);
    same(second, buildModel(before, MTLS));
    second.services.forEach((s, i) => expect(s).toBe(first.services[i]));
    second.workloads.forEach((w, i) => expect(w).toBe(first.workloads[i]));
  });
});
