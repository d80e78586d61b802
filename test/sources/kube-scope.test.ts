/**
 * What the Kubernetes source watches: a list of namespaces, or the namespaces a label selector
 * picks (whose membership can change while it runs); TrafficPolicies read beside MeshInputs.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Envtest } from '../support/envtest.ts';
import { kubeTestEnv, names, service, startSource, trellisKubeConfig, type Admin, type Started } from './kube-support.ts';

describe('kube source scope', () => {
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

  /** Three fresh namespaces, each with a Service named after it. */
  const threeNamespaces = async (): Promise<[string, string, string]> => {
    const all = [await env.namespace('scope-a'), await env.namespace('scope-b'), await env.namespace('scope-c')] as const;
    for (const ns of all) await api.core.createNamespacedService({ namespace: ns, body: service(ns.slice(0, 7)) });
    return [...all];
  };

  const label = (name: string, value: string | null) =>
    api.core.patchNamespace({
      name,
      body: [{ op: value === null ? 'remove' : 'add', path: '/metadata/labels/trellis-test', ...(value === null ? {} : { value }) }],
    });

  it('watches only the namespaces listed', async () => {
    const [a, b, c] = await threeNamespaces();
    started = await startSource(await trellisKubeConfig(env, a), { namespaces: [b, a] });
    const { source, changes } = started;
    expect(names(source.current(), 'namespaces')).toEqual([a, b]);
    expect(names(source.current(), 'services')).toEqual([`${a}/scope-a`, `${b}/scope-b`]);

    await api.core.createNamespacedService({ namespace: c, body: service('late') });
    await api.core.createNamespacedService({ namespace: b, body: service('late') });
    const state = await changes.until('late in b', (s) => names(s, 'services').includes(`${b}/late`));
    expect(names(state, 'services')).toEqual([`${a}/scope-a`, `${b}/late`, `${b}/scope-b`]);
    const { nodes, ...namespaced } = source.stats();
    expect(Object.values(namespaced).every((s) => s.lists === 2)).toBe(true); // one informer per namespace and kind
    expect(nodes.lists).toBe(1); // Nodes are cluster-scoped: one informer, cluster-wide
  });

  it('watches the namespaces a label selector picks, as they join and leave', async () => {
    const [a, b, c] = await threeNamespaces();
    const value = randomBytes(4).toString('hex');
    await label(a, value);
    await label(b, value);
    started = await startSource(await trellisKubeConfig(env, a), { namespaceSelector: `trellis-test=${value}` });
    const { source, changes } = started;
    expect(names(source.current(), 'namespaces')).toEqual([a, b]);
    expect(names(source.current(), 'services')).toEqual([`${a}/scope-a`, `${b}/scope-b`]);

    await label(c, value);
    await changes.until('c joins', (s) => names(s, 'services').includes(`${c}/scope-c`));
    await label(a, null);
    const state = await changes.until('a leaves', (s) => !names(s, 'services').includes(`${a}/scope-a`));
    expect(names(state, 'namespaces')).toEqual([b, c]);
    expect(names(state, 'services')).toEqual([`${b}/scope-b`, `${c}/scope-c`]);
  });

  it('reads TrafficPolicies into MeshInputs; a change of their status alone is no change', async () => {
    const ns = await env.namespace('policies');
    const policy = (name: string, timeout: string) => ({ apiVersion: 'trellis.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name }, spec: { timeout } });
    const create = (name: string) =>
      api.custom.createNamespacedCustomObject({
        group: 'trellis.dev',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'trafficpolicies',
        body: policy(name, '1s'),
      });
    await create('first');
    started = await startSource(await trellisKubeConfig(env, ns), { namespaces: [ns] });
    const { source, changes, logs } = started;
    expect(source.current().inputs.trafficPolicies.map((p) => [p.object.metadata.name, p.object.spec])).toEqual([['first', { timeout: '1s' }]]);
    expect(logs.lines.some((l) => l.msg === 'TrafficPolicies read' && l.count === 1)).toBe(true);

    const patched = (await api.custom.patchNamespacedCustomObjectStatus({
      group: 'trellis.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'trafficpolicies',
      name: 'first',
      body: [{ op: 'add', path: '/status', value: { conditions: [{ type: 'Accepted', status: 'True' }] } }],
    })) as { metadata?: { resourceVersion?: string } };
    const rv = patched.metadata?.resourceVersion;
    await logs.until('the status change seen', (lines) => lines.some((l) => l.msg === 'watch event' && l.name === 'first' && l.resourceVersion === rv));
    await create('second');
    const state = await changes.until('second read', (s) => s.inputs.trafficPolicies.length === 2);
    expect(changes.states).toHaveLength(1);
    expect(state.inputs).toEqual(source.current().inputs);
  });
});
