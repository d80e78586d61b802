/**
 * Nodes in the Kubernetes source, against a real API server (no kubelets there: the admin creates
 * the Node objects): read cluster-wide whatever namespaces are watched, cut down to their name and
 * topology labels, their status changes not told; the region they give the endpoints on them; and
 * a ServiceAccount that may not list Nodes: ready, with a warning, until it may.
 */
import { randomBytes } from 'node:crypto';
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.ts';
import { KUBE_RBAC_RULES, NODES_FORBIDDEN } from '../../src/sources/kube/index.ts';
import type { Envtest } from '../support/envtest.ts';
import { kubeTestEnv, names, service, startSource, trellisKubeConfig, type Admin, type Started } from './kube-support.ts';

const REGION = 'topology.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';

const node = (name: string, region: string, zone: string): V1Node => ({
  metadata: {
    name,
    labels: { [REGION]: region, [ZONE]: zone, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
  },
  spec: { podCIDR: '10.244.9.0/24' },
});

describe('kube source: Nodes', () => {
  let env: Envtest;
  let api: Admin;
  let started: Started | undefined;
  beforeAll(async () => {
    ({ env, api } = await kubeTestEnv());
  });
  afterEach(() => {
    started?.source.close();
    started = undefined;
  });

  /** A Node name no other test uses (Nodes are cluster-scoped: every test sees every one). */
  const nodeName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;
  const ours = (s: Started['changes']['latest'], name: string) => s?.inputs.nodes.find((n) => n.object.metadata.name === name)?.object;

  it.each([
    ['a list of namespaces', (ns: string) => ({ namespaces: [ns] })],
    ['a namespace selector that picks none', () => ({ namespaceSelector: `trellis-test=${randomBytes(4).toString('hex')}` })],
  ])('reads them cluster-wide with %s, keeping only their name and topology labels', async (_title, scope) => {
    const ns = await env.namespace('nodes');
    const name = nodeName('node-read');
    await api.core.createNode({ body: node(name, 'eu-west-1', 'eu-west-1a') });
    started = await startSource(await trellisKubeConfig(env, ns), scope(ns));
    const { source } = started;
    expect(ours(source.current(), name)).toEqual({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, resourceVersion: expect.any(String) as string, labels: { [REGION]: 'eu-west-1', [ZONE]: 'eu-west-1a' } },
    });
    expect(source.stats().nodes).toMatchObject({ lists: 1, listFailures: 0 });
    expect(source.current().problems).toEqual([]);
  });

  it('tells a change of a topology label, a new Node and a deleted one, and not a change of status', async () => {
    const ns = await env.namespace('nodes-change');
    const name = nodeName('node-change');
    const created = await api.core.createNode({ body: node(name, 'eu-west-1', 'eu-west-1a') });
    started = await startSource(await trellisKubeConfig(env, ns), { namespaces: [ns] });
    const { changes, logs } = started;

    // A heartbeat of sorts: the status changes (and the resourceVersion), nothing the model reads.
    const heartbeat = await api.core.replaceNodeStatus({
      name,
      body: {
        ...created,
        status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date() }], images: [{ names: ['example:1'] }] },
      },
    });
    const rv = heartbeat.metadata?.resourceVersion;
    await logs.until('the status change seen', (lines) => lines.some((l) => l.msg === 'watch event' && l.name === name && l.resourceVersion === rv));
    await api.core.patchNode({ name, body: [{ op: 'replace', path: `/metadata/labels/${ZONE.replace('/', '~1')}`, value: 'eu-west-1b' }] });
    await changes.until('the new zone', (s) => ours(s, name)?.metadata.labels[ZONE] === 'eu-west-1b');
    expect(changes.states).toHaveLength(1);

    const other = nodeName('node-new');
    await api.core.createNode({ body: node(other, 'eu-central-1', 'eu-central-1a') });
    await changes.until('the new node', (s) => ours(s, other) !== undefined);
    await api.core.deleteNode({ name });
    const last = await changes.until('the node deleted', (s) => ours(s, name) === undefined);
    expect(ours(last, other)?.metadata.labels).toEqual({ [REGION]: 'eu-central-1', [ZONE]: 'eu-central-1a' });
  });

  it('give the endpoints on them their region in the model', async () => {
    const ns = await env.namespace('nodes-model');
    const [a, b] = [nodeName('node-a'), nodeName('node-b')];
    await api.core.createNode({ body: node(a, 'eu-west-1', 'eu-west-1a') });
    await api.core.createNode({ body: node(b, 'eu-central-1', 'eu-central-1a') });
    await api.core.createNamespacedService({ namespace: ns, body: service('web') });
    await api.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['127.0.0.1'], nodeName: a, zone: 'eu-west-1a' },
          { addresses: ['127.0.0.2'], nodeName: b },
          { addresses: ['127.0.0.3'], nodeName: 'no-such-node', zone: 'eu-west-1c' },
        ],
      },
    });
    started = await startSource(await trellisKubeConfig(env, ns), { namespaces: [ns] });
    const model = buildModel(started.source.current().inputs);
    const endpoints = model.services.find((s) => s.name === 'web')?.ports[0]?.endpoints ?? [];
    expect(endpoints.map((e) => [e.address, e.locality.region, e.locality.zone])).toEqual([
      ['127.0.0.1', 'eu-west-1', 'eu-west-1a'],
      ['127.0.0.2', 'eu-central-1', 'eu-central-1a'],
      ['127.0.0.3', '', 'eu-west-1c'],
    ]);
  });

  it('may be forbidden: ready, with a warning and no Nodes, until the permission is granted', async () => {
    const ns = await env.namespace('nodes-forbidden');
    const name = nodeName('node-later');
    await api.core.createNode({ body: node(name, 'eu-west-1', 'eu-west-1a') });
    await api.core.createNamespacedService({ namespace: ns, body: service('web') });
    const withoutNodes = KUBE_RBAC_RULES.clusterWide.filter((r) => !r.resources?.includes('nodes'));
    expect(withoutNodes).toHaveLength(KUBE_RBAC_RULES.clusterWide.length - 1);
    const kc = new KubeConfig();
    kc.loadFromString(
      await env.serviceAccountKubeconfig({ namespace: ns, name: 'trellis', rules: withoutNodes, namespacedRules: KUBE_RBAC_RULES.leaseNamespace }),
    );
    started = await startSource(kc, { namespaces: [ns] });
    const { source, changes, logs } = started;

    const state = source.current();
    expect(state.connected).toBe(true);
    expect(state.problems).toEqual([{ severity: 'warning', message: NODES_FORBIDDEN }]);
    expect(state.inputs.nodes).toEqual([]);
    expect(names(state, 'services')).toEqual([`${ns}/web`]);
    expect(logs.count(40, /Trellis may not list Nodes/)).toBe(1);

    // The same ServiceAccount, now bound to every rule: the next retry lists the Nodes.
    await env.serviceAccountKubeconfig({ namespace: ns, name: 'trellis', rules: KUBE_RBAC_RULES.clusterWide, namespacedRules: KUBE_RBAC_RULES.leaseNamespace });
    const granted = await changes.until('the nodes read', (s) => ours(s, name) !== undefined && s.problems.length === 0);
    expect(granted.connected).toBe(true);
    expect(changes.states.every((s) => s.connected)).toBe(true);
    expect(logs.count(40, /Trellis may not list Nodes/)).toBe(1);
    expect(logs.count(30, /Nodes may be listed now/)).toBe(1);
  });
});
