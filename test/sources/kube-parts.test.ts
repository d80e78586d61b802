/**
 * The pure parts of the Kubernetes source: backoff, Retry-After, the object cache's last-good and
 * whole-swap semantics, Pod and Node slimming, paths, RBAC rules and kubeconfig loading.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/sources/kube/backoff.ts';
import { parseRetryAfter } from '../../src/sources/kube/http.ts';
import { KUBE_RBAC_RULES, loadKubeConfig, startKubeSource } from '../../src/sources/kube/index.ts';
import { collectionPath, ENDPOINT_SLICES, NAMESPACES, NODES, PODS, slimNode, slimPod, TRAFFIC_POLICIES } from '../../src/sources/kube/kinds.ts';
import { ObjectCache } from '../../src/sources/kube/store.ts';

describe('Backoff', () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it.each([
    ['no jitter (random 0)', 0, [50, 100, 200, 400, 500, 500]],
    ['full jitter (random 1)', 1, [100, 200, 400, 800, 1000, 1000]],
  ])('doubles up to the maximum: %s', (_, random, expected) => {
    const c = clock();
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, c.now, () => random);
    expect(expected.map(() => b.next())).toEqual(expected);
  });

  it('starts again from the initial delay after a quiet period', () => {
    const c = clock();
    const b = new Backoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 5000 }, c.now, () => 1);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    c.advance(4999);
    expect(b.next()).toBe(800);
    c.advance(5000);
    expect(b.next()).toBe(100);
  });

  it('waits at least what Retry-After asks, up to five minutes', () => {
    const b = new Backoff(
      { initialMs: 100, maxMs: 1000 },
      () => 0,
      () => 1,
    );
    expect(b.next(3000)).toBe(3000);
    expect(b.next(10)).toBe(200);
    expect(b.next(3_600_000)).toBe(300_000);
  });

  it.each([
    ['2', 2000],
    ['0', 0],
    ['Thu, 01 Jan 1970 00:00:05 GMT', 5000],
    ['soon', undefined],
    [undefined, undefined],
  ])('reads Retry-After %s', (header, ms) => {
    expect(parseRetryAfter(header, 0)).toBe(ms);
  });
});

describe('ObjectCache', () => {
  const slice = (name: string, address: string, port: number, rv: string) => ({
    metadata: { name, namespace: 'shop', resourceVersion: rv },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address] }],
    ports: [{ port }],
  });
  const served = (cache: ObjectCache) =>
    [...cache.values()].map((e) => `${e.name}:${JSON.stringify((e.value as { endpoints?: unknown } | undefined)?.endpoints ?? null)}:${e.problems.length}`);

  it('keeps the last good version of an object that turns invalid, with an error and a warning', () => {
    const cache = new ObjectCache(ENDPOINT_SLICES);
    expect(cache.upsert(slice('a', '10.0.0.1', 80, '1'))).toBe(true);
    expect(cache.upsert(slice('a', '10.0.0.2', 0, '2'))).toBe(true);
    const [entry] = cache.values();
    expect(entry?.value).toMatchObject({ endpoints: [{ addresses: ['10.0.0.1'] }], metadata: { resourceVersion: '1' } });
    expect(entry?.problems).toEqual([
      { severity: 'error', object: { kind: 'EndpointSlice', namespace: 'shop', name: 'a' }, field: 'ports[0].port', message: expect.any(String) as string },
      {
        severity: 'warning',
        object: { kind: 'EndpointSlice', namespace: 'shop', name: 'a' },
        message: 'kept serving the last good version (resourceVersion 1)',
      },
    ]);
    expect(cache.upsert(slice('a', '10.0.0.3', 0, '3'))).toBe(false); // still invalid, same problems
  });

  it('counts a new resourceVersion alone as no change, but stores it', () => {
    const cache = new ObjectCache(ENDPOINT_SLICES);
    cache.upsert(slice('a', '10.0.0.1', 80, '1'));
    expect(cache.upsert(slice('a', '10.0.0.1', 80, '2'))).toBe(false);
    expect([...cache.values()][0]?.value).toMatchObject({ metadata: { resourceVersion: '2' } });
  });

  it('ignores the status of a TrafficPolicy when comparing', () => {
    const cache = new ObjectCache(TRAFFIC_POLICIES);
    const tp = (status: unknown, spec: unknown) => ({ metadata: { name: 'p', namespace: 'shop' }, spec, status });
    cache.upsert(tp(undefined, { a: 1 }));
    expect(cache.upsert(tp({ conditions: [] }, { a: 1 }))).toBe(false);
    expect(cache.upsert(tp({ conditions: [] }, { a: 2 }))).toBe(true);
  });

  it('changes nothing until a relist commits, then drops what the list lacked', () => {
    const cache = new ObjectCache(ENDPOINT_SLICES);
    cache.upsert(slice('a', '10.0.0.1', 80, '1'));
    cache.upsert(slice('b', '10.0.0.2', 80, '1'));
    const relist = cache.beginReplace();
    relist.add(slice('b', '10.0.0.3', 80, '5'));
    relist.add(slice('c', '10.0.0.4', 0, '5'));
    expect(served(cache)).toEqual(['a:[{"addresses":["10.0.0.1"],"conditions":{}}]:0', 'b:[{"addresses":["10.0.0.2"],"conditions":{}}]:0']);
    expect(relist.commit()).toBe(true);
    expect(served(cache)).toEqual(['b:[{"addresses":["10.0.0.3"],"conditions":{}}]:0', 'c:null:1']);
  });

  it('tells an unchanged relist from a changed one', () => {
    const cache = new ObjectCache(NAMESPACES);
    cache.upsert({ metadata: { name: 'shop', resourceVersion: '1' } });
    const same = cache.beginReplace();
    same.add({ metadata: { name: 'shop', resourceVersion: '9' } });
    expect(same.commit()).toBe(false);
    const fewer = cache.beginReplace();
    expect(fewer.commit()).toBe(true);
    expect(cache.size).toBe(0);
  });
});

describe('kinds', () => {
  it('cuts a Pod down to what the model reads', () => {
    const raw = {
      metadata: { name: 'p', namespace: 'shop', labels: { app: 'p' }, annotations: { big: 'x' }, uid: 'u', resourceVersion: '7', managedFields: [{}] },
      spec: {
        serviceAccountName: 'sa',
        nodeName: 'n',
        volumes: [{}],
        containers: [{ name: 'c', image: 'i', env: [{}], ports: [{ containerPort: 80, hostPort: 80 }] }],
      },
      status: { podIP: '10.0.0.1', phase: 'Running', conditions: [{}] },
    };
    expect(slimPod(raw)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop', labels: { app: 'p' }, uid: 'u', resourceVersion: '7' },
      spec: { serviceAccountName: 'sa', containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 80 }] }] },
      status: { podIP: '10.0.0.1', phase: 'Running' },
    });
    expect(PODS.parse(raw)).toMatchObject({ ok: true, value: { spec: { containers: [{ ports: [{ containerPort: 80, protocol: 'TCP' }] }] } } });
  });

  it("keeps of a Pod's annotations only its sidecar's reach", () => {
    const raw = {
      metadata: { name: 'p', namespace: 'shop', annotations: { big: 'x', 'trellis.dev/reachable-services': './cart' } },
      spec: { containers: [] },
      status: { podIP: '10.0.0.1' },
    };
    expect(slimPod(raw)).toMatchObject({ metadata: { annotations: { 'trellis.dev/reachable-services': './cart' } } });
    expect(Object.keys((slimPod(raw).metadata as { annotations: object }).annotations)).toEqual(['trellis.dev/reachable-services']);
    expect(PODS.parse(raw)).toMatchObject({ ok: true, value: { metadata: { annotations: { 'trellis.dev/reachable-services': './cart' } } } });
  });

  it('cuts a Node down to its name, resourceVersion and topology labels', () => {
    const raw = {
      metadata: {
        name: 'n1',
        uid: 'u',
        resourceVersion: '9',
        labels: { 'topology.kubernetes.io/region': 'eu-west-1', 'topology.kubernetes.io/zone': 'eu-west-1a', 'kubernetes.io/os': 'linux' },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
        managedFields: [{}],
      },
      spec: { podCIDR: '10.244.1.0/24', providerID: 'aws:///eu-west-1a/i-1' },
      status: { images: [{ names: ['x'], sizeBytes: 1 }], conditions: [{}], addresses: [{}] },
    };
    const slim = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', resourceVersion: '9', labels: { 'topology.kubernetes.io/region': 'eu-west-1', 'topology.kubernetes.io/zone': 'eu-west-1a' } },
    };
    expect(slimNode(raw)).toEqual(slim);
    expect(NODES.parse(raw)).toEqual({ ok: true, value: slim });
    expect(NODES.parse({ metadata: { name: 'bare' } })).toEqual({
      ok: true,
      value: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bare', labels: {} } },
    });
  });

  it('drops the last-applied annotation (a copy of the whole object) and keeps the others', () => {
    const parsed = NAMESPACES.parse({ metadata: { name: 'shop', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{…}', team: 'a' } } });
    expect(parsed).toMatchObject({ ok: true, value: { apiVersion: 'v1', kind: 'Namespace', metadata: { annotations: { team: 'a' } } } });
  });

  it.each([
    [PODS, 'shop', '/api/v1/namespaces/shop/pods'],
    [PODS, undefined, '/api/v1/pods'],
    [ENDPOINT_SLICES, 'shop', '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices'],
    [TRAFFIC_POLICIES, undefined, '/apis/trellis.dev/v1alpha1/trafficpolicies'],
    [NAMESPACES, 'shop', '/api/v1/namespaces'],
    [NODES, 'shop', '/api/v1/nodes'],
  ])('lists %s in %s at %s', (spec, ns, path) => {
    expect(collectionPath(spec, ns)).toBe(path);
  });
});

describe('KUBE_RBAC_RULES', () => {
  const all = [...KUBE_RBAC_RULES.clusterWide, ...KUBE_RBAC_RULES.leaseNamespace];
  const writes = (rules: readonly V1PolicyRule[]) =>
    rules.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v))).flatMap((r) => r.resources ?? []);
  it('grants reading every kind the source watches, and writes only status, leases, ConfigMaps and certificate requests', () => {
    const verbs = (group: string, resource: string) =>
      KUBE_RBAC_RULES.clusterWide.filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource)).flatMap((r) => r.verbs);
    for (const [group, resource] of [
      ['', 'namespaces'],
      ['', 'nodes'],
      ['', 'services'],
      ['', 'pods'],
      ['discovery.k8s.io', 'endpointslices'],
      ['trellis.dev', 'trafficpolicies'],
    ] as const) {
      expect(verbs(group, resource)).toEqual(expect.arrayContaining(['list', 'watch']));
    }
    expect([...new Set(writes(all))].sort()).toEqual(['certificaterequests', 'configmaps', 'leases', 'tokenreviews', 'trafficpolicies/status']);
  });

  it('writes leases, progress boards and certificate requests only in the lease namespace (a Role); cluster-wide, ConfigMaps only to publish the trust bundle', () => {
    expect(writes(KUBE_RBAC_RULES.clusterWide)).toEqual(['trafficpolicies/status', 'configmaps', 'configmaps', 'tokenreviews']);
    const clusterConfigMaps = KUBE_RBAC_RULES.clusterWide.filter((r) => r.resources?.includes('configmaps'));
    // Every verb but create names the one ConfigMap; create cannot be narrowed by name.
    expect(clusterConfigMaps.flatMap((r) => (r.resourceNames ? r.verbs : [])).sort()).toEqual(['get', 'update']);
    expect(clusterConfigMaps.flatMap((r) => r.resourceNames ?? [])).toEqual(['trellis-ca-root-cert']);
    expect(clusterConfigMaps.flatMap((r) => (r.resourceNames ? [] : r.verbs))).toEqual(['create']);
    const clusterResources = KUBE_RBAC_RULES.clusterWide.flatMap((r) => r.resources ?? []);
    expect(clusterResources).not.toContain('leases');
    expect(clusterResources).not.toContain('certificaterequests');
    expect(KUBE_RBAC_RULES.leaseNamespace.flatMap((r) => r.resources ?? []).sort()).toEqual(['certificaterequests', 'configmaps', 'leases']);
    const approve = all.filter((r) => r.verbs.includes('approve') || r.resources?.includes('signers'));
    expect(approve).toEqual([]);
  });
});

describe('loadKubeConfig', () => {
  /** A kubeconfig file whose current context x names a cluster at :6443, and whose context y names one that is not there. */
  const kubeconfigFile = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-kc-'));
    const file = join(dir, 'config');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]\nusers: [{ name: u, user: { token: t } }]\n' +
        'contexts: [{ name: x, context: { cluster: c, user: u } }, { name: y, context: { cluster: gone, user: u } }]\ncurrent-context: x\n',
    );
    return file;
  };

  it('reads a kubeconfig file', async () => {
    expect(loadKubeConfig({ kubeconfig: await kubeconfigFile() }).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('switches to the context asked for, and names one that is missing or names no cluster', async () => {
    const file = await kubeconfigFile();
    expect(loadKubeConfig({ kubeconfig: file, context: 'x' }).getCurrentContext()).toBe('x');
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'prod' })).toThrow(/^no context "prod" in the kubeconfig; it has: x, y$/);
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'y' })).toThrow(`the context "y" of the kubeconfig ${file} names no cluster with a server`);
  });

  it('reads the default kubeconfig ($KUBECONFIG) rather than the in-cluster configuration when asked to', async () => {
    const file = await kubeconfigFile();
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = file;
    try {
      expect(loadKubeConfig({ fallback: 'default' }).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('says which file it cannot read', () => {
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' })).toThrow(/^cannot read the kubeconfig \/nonexistent\/kubeconfig: .*ENOENT/);
  });

  it('says why it cannot use the in-cluster configuration', () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      expect(() => loadKubeConfig({})).toThrow(/no kubeconfig was given and Trellis is not running in a cluster/);
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });
});

describe('startKubeSource', () => {
  it.each([
    [{ namespaces: ['a'], namespaceSelector: 'team=a' }, /a list of namespaces or a namespace selector, not both/],
    [{ namespaces: [] }, /the list of namespaces to watch is empty/],
  ])('refuses %j', async (scope, message) => {
    const start = startKubeSource({ kubeConfig: new KubeConfig(), logger: pino({ level: 'silent' }), ...scope });
    await expect(start(() => undefined)).rejects.toThrow(message);
  });
});
