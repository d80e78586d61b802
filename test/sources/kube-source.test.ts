/**
 * The Kubernetes source against a real API server, as a ServiceAccount bound to exactly
 * KUBE_RBAC_RULES: the initial list, changes of each kind, validation, deduplication.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PodObject } from '../../src/model/inputs.ts';
import type { Envtest } from '../support/envtest.ts';
import { endpoints, kubeTestEnv, names, pod, service, slice, startSource, trellisKubeConfig, type Admin, type Started } from './kube-support.ts';

describe('kube source', () => {
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

  const start = async (namespace: string): Promise<Started> => {
    started = await startSource(await trellisKubeConfig(env, namespace), { namespaces: [namespace] });
    return started;
  };

  it('resolves its start only after the initial list, with the objects already there, sorted', async () => {
    const ns = await env.namespace('initial');
    await api.core.createNamespacedService({ namespace: ns, body: service('web') });
    await api.core.createNamespacedService({ namespace: ns, body: service('api') });
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-1', 'web', ['127.0.0.1', '127.0.0.2']) });
    await api.core.createNamespacedPod({ namespace: ns, body: pod('web-0') });

    const { source, changes } = await start(ns);
    const state = source.current();
    expect(names(state, 'namespaces')).toEqual([ns]);
    expect(names(state, 'services')).toEqual([`${ns}/api`, `${ns}/web`]);
    expect(endpoints(state)).toEqual(['web-1:127.0.0.1', 'web-1:127.0.0.2']);
    expect(names(state, 'pods')).toEqual([`${ns}/web-0`]);
    expect(state.inputs.services.map((s) => s.origin)).toEqual([{}, {}]);
    expect(state).toMatchObject({ connected: true, problems: [] });
    expect(changes.states).toEqual([]); // nothing is told before start resolves
    expect(source.stats().services).toMatchObject({ lists: 1, relists: 0, listFailures: 0 });
  });

  it('keeps only the fields of a Pod the model needs', async () => {
    const ns = await env.namespace('slim');
    const created = await api.core.createNamespacedPod({ namespace: ns, body: pod('web-0') });
    const { changes } = await start(ns);
    await api.core.replaceNamespacedPodStatus({
      name: 'web-0',
      namespace: ns,
      body: { ...created, status: { phase: 'Running', podIP: '127.0.0.9', podIPs: [{ ip: '127.0.0.9' }], hostIP: '10.0.0.1' } },
    });
    const state = await changes.until('the pod has its IP', (s) => s.inputs.pods[0]?.object.status.podIP === '127.0.0.9');
    const object: PodObject | undefined = state.inputs.pods[0]?.object;
    expect(object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-0',
        namespace: ns,
        labels: { app: 'web-0' },
        annotations: {},
        uid: created.metadata?.uid,
        resourceVersion: expect.any(String) as string,
      },
      spec: { serviceAccountName: 'web', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: '127.0.0.9' },
    });
  });

  it('sees Services, EndpointSlices and Pods added, updated and deleted', async () => {
    const ns = await env.namespace('changes');
    const { changes } = await start(ns);

    await api.core.createNamespacedService({ namespace: ns, body: service('web', 80) });
    await changes.until('web added', (s) => names(s, 'services').includes(`${ns}/web`));
    await api.core.patchNamespacedService({ name: 'web', namespace: ns, body: [{ op: 'replace', path: '/spec/ports/0/port', value: 81 }] });
    await changes.until('web on port 81', (s) => s.inputs.services[0]?.object.spec.ports[0]?.port === 81);

    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-1', 'web', ['127.0.0.1']) });
    await changes.until('one endpoint', (s) => endpoints(s).join() === 'web-1:127.0.0.1');
    await api.discovery.replaceNamespacedEndpointSlice({ name: 'web-1', namespace: ns, body: slice('web-1', 'web', ['127.0.0.1', '127.0.0.2']) });
    await changes.until('two endpoints', (s) => endpoints(s).join() === 'web-1:127.0.0.1,web-1:127.0.0.2');

    await api.core.createNamespacedPod({ namespace: ns, body: pod('web-0') });
    await changes.until('pod added', (s) => names(s, 'pods').includes(`${ns}/web-0`));
    await api.core.patchNamespacedPod({ name: 'web-0', namespace: ns, body: [{ op: 'replace', path: '/metadata/labels/app', value: 'other' }] });
    await changes.until('pod relabelled', (s) => s.inputs.pods[0]?.object.metadata.labels.app === 'other');

    await api.discovery.deleteNamespacedEndpointSlice({ name: 'web-1', namespace: ns });
    await api.core.deleteNamespacedService({ name: 'web', namespace: ns });
    await api.core.deleteNamespacedPod({ name: 'web-0', namespace: ns, gracePeriodSeconds: 0 });
    const last = await changes.until('all deleted', (s) => s.inputs.services.length + s.inputs.endpointSlices.length + s.inputs.pods.length === 0);
    expect(last.problems).toEqual([]);
  });

  it('keeps serving the last good version of an object the API server admits but the schema refuses', async () => {
    const ns = await env.namespace('invalid');
    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-1', 'web', ['127.0.0.1'], 8080) });
    const { changes } = await start(ns);

    // The API server does not range-check EndpointSlice ports; the schema does (1–65535).
    await api.discovery.replaceNamespacedEndpointSlice({ name: 'web-1', namespace: ns, body: slice('web-1', 'web', ['127.0.0.2'], 70000) });
    const bad = await changes.until('a problem', (s) => s.problems.length > 0);
    expect(bad.problems).toEqual([
      {
        severity: 'error',
        object: { kind: 'EndpointSlice', namespace: ns, name: 'web-1' },
        field: 'ports[0].port',
        message: expect.stringMatching(/65535/) as string,
      },
      {
        severity: 'warning',
        object: { kind: 'EndpointSlice', namespace: ns, name: 'web-1' },
        message: expect.stringMatching(/^kept serving the last good version \(resourceVersion \d+\)$/) as string,
      },
    ]);
    expect(endpoints(bad)).toEqual(['web-1:127.0.0.1']);
    expect(bad.inputs.endpointSlices[0]?.object.ports[0]?.port).toBe(8080);

    await api.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-2', 'web', ['127.0.0.3'], 0) });
    const never = await changes.until('a never-good object reported', (s) =>
      s.problems.some((p) => p.object?.kind === 'EndpointSlice' && p.object.name === 'web-2'),
    );
    expect(endpoints(never)).toEqual(['web-1:127.0.0.1']);

    await api.discovery.replaceNamespacedEndpointSlice({ name: 'web-1', namespace: ns, body: slice('web-1', 'web', ['127.0.0.2'], 8081) });
    await api.discovery.deleteNamespacedEndpointSlice({ name: 'web-2', namespace: ns });
    const fixed = await changes.until('fixed', (s) => s.problems.length === 0);
    expect(endpoints(fixed)).toEqual(['web-1:127.0.0.2']);
  });

  it('does not tell a change that changes nothing it serves', async () => {
    const ns = await env.namespace('dedupe');
    await api.core.createNamespacedPod({ namespace: ns, body: pod('a') });
    await api.core.createNamespacedPod({ namespace: ns, body: pod('b') });
    const { changes, logs } = await start(ns);

    // An annotation of a Pod (not kept) changes its resourceVersion only; once the source has handled
    // that event, a real change.
    const patched = await api.core.patchNamespacedPod({ name: 'a', namespace: ns, body: [{ op: 'add', path: '/metadata/annotations/touched', value: 'yes' }] });
    const rv = patched.metadata?.resourceVersion;
    await logs.until('the annotation seen', (lines) => lines.some((l) => l.msg === 'watch event' && l.name === 'a' && l.resourceVersion === rv));
    await api.core.patchNamespacedPod({ name: 'b', namespace: ns, body: [{ op: 'replace', path: '/metadata/labels/app', value: 'b2' }] });
    await changes.until('b relabelled', (s) => s.inputs.pods[1]?.object.metadata.labels.app === 'b2');
    expect(changes.states).toHaveLength(1);
  });
});
