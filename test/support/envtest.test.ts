import { ApiException, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedEnvtest, startEnvtest, type Envtest } from './envtest.ts';
import { openWatch } from './fault-proxy.ts';

function client(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return kc;
}

const service = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

describe('envtest', () => {
  let env: Envtest;
  let core: CoreV1Api;
  beforeAll(async () => {
    const t0 = Date.now();
    env = await sharedEnvtest();
    console.info(`envtest: started in ${Date.now() - t0} ms`);
    core = client(env.adminKubeconfig).makeApiClient(CoreV1Api);
  });

  it('is one server per worker: sharedEnvtest() returns the same instance', async () => {
    expect(await sharedEnvtest()).toBe(env);
    expect(env.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(env.caPem).toContain('BEGIN CERTIFICATE');
  });

  it('admits a Service and an EndpointSlice with a loopback address (admin kubeconfig)', async () => {
    const namespace = await env.namespace('loopback');
    await core.createNamespacedService({ namespace, body: service('web') });
    const discovery = client(env.adminKubeconfig).makeApiClient(DiscoveryV1Api);
    await discovery.createNamespacedEndpointSlice({
      namespace,
      body: {
        metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    });
    const slices = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=web' });
    expect(slices.items.map((s) => s.endpoints[0]?.addresses)).toEqual([['127.0.0.1']]);
  });

  it('admits a Pod without a controller manager (no default ServiceAccount needed)', async () => {
    const namespace = await env.namespace('pods');
    const pod = await core.createNamespacedPod({ namespace, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'example' }] } } });
    expect(pod.metadata?.uid).toBeTruthy();
  });

  it('a ServiceAccount kubeconfig has exactly its rules: list services yes, endpointslices 403', async () => {
    const namespace = await env.namespace('rbac');
    await core.createNamespacedService({ namespace, body: service('api') });
    const kubeconfig = await env.serviceAccountKubeconfig({
      namespace,
      name: 'reader',
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] }],
    });
    const sa = client(kubeconfig);
    const services = await sa.makeApiClient(CoreV1Api).listNamespacedService({ namespace });
    expect(services.items.map((s) => s.metadata?.name)).toEqual(['api']);
    expect(await statusOf(sa.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace }))).toBe(403);
    expect(await statusOf(sa.makeApiClient(CoreV1Api).readNamespacedService({ namespace, name: 'api' }))).toBe(403);
  });

  it('installCrds applies a CRD and returns once it is Established and served', async () => {
    const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.test.trellis.dev }
spec:
  group: test.trellis.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;
    await env.installCrds([crd]);
    await env.installCrds([crd]); // applying again replaces it
    const namespace = await env.namespace('crd');
    const custom = client(env.adminKubeconfig).makeApiClient(CustomObjectsApi);
    const body = { apiVersion: 'test.trellis.dev/v1', kind: 'Widget', metadata: { name: 'w' } };
    await custom.createNamespacedCustomObject({ group: 'test.trellis.dev', version: 'v1', namespace, plural: 'widgets', body });
    const list = (await custom.listNamespacedCustomObject({ group: 'test.trellis.dev', version: 'v1', namespace, plural: 'widgets' })) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('compact() makes a watch from an old resourceVersion answer 410 Expired', async () => {
    const namespace = await env.namespace('compact');
    const before = (await core.listNamespacedService({ namespace })).metadata?.resourceVersion;
    await core.createNamespacedService({ namespace, body: service('one') });
    const path = `/api/v1/namespaces/${namespace}/services`;

    const fresh = await openWatch(env.adminKubeconfig, path, { resourceVersion: before });
    expect((await fresh.next()).type).toBe('ADDED'); // before compaction the old version is still served
    fresh.abort();

    await env.compact();
    const old = await openWatch(env.adminKubeconfig, path, { resourceVersion: before });
    const event = await old.next();
    expect(event.type).toBe('ERROR');
    expect(event.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(await old.ended).toBeNull();
    await env.compact(); // nothing written since: not an error
  });

  it('restartApiServer() stops and starts the API server; the data is still there', async () => {
    const namespace = await env.namespace('restart');
    await core.createNamespacedService({ namespace, body: service('kept') });
    const watch = await openWatch(env.adminKubeconfig, `/api/v1/namespaces/${namespace}/services`);
    const t0 = Date.now();
    await env.restartApiServer();
    console.info(`envtest: restartApiServer took ${Date.now() - t0} ms`);
    await watch.ended; // the server really went away: open watches ended
    const services = await core.listNamespacedService({ namespace });
    expect(services.items.map((s) => s.metadata?.name)).toEqual(['kept']);
  });

  it('fails fast with a clear message when the binaries are missing', async () => {
    const saved = process.env.KUBEBUILDER_ASSETS;
    process.env.KUBEBUILDER_ASSETS = '/nonexistent/envtest';
    try {
      await expect(startEnvtest()).rejects.toThrow(/no executable \/nonexistent\/envtest\/etcd\. Set KUBEBUILDER_ASSETS/);
    } finally {
      if (saved === undefined) delete process.env.KUBEBUILDER_ASSETS;
      else process.env.KUBEBUILDER_ASSETS = saved;
    }
  });
});
