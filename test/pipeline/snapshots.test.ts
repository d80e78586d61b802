/**
 * The snapshot builder reports each translation problem once, however many proxy classes have it,
 * and no longer once it is gone (the control plane logs what appears and what is fixed).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SnapshotBuilder } from '../../src/pipeline/snapshots.ts';
import type { ModelService, ModelWorkload } from '../../src/model/types.ts';
import { SnapshotCache, type SnapshotChange } from '../../src/xds/cache.ts';
import { endpoint, modelOf, port, service, workload } from '../translate/model-fixtures.ts';

/** Two services claiming one ClusterIP: an error on the second, in every sidecar's translation. */
const clash = (extra = 0) =>
  modelOf([
    service('default', 'a', { clusterIP: '10.0.0.1', ports: [port('tcp', 5432, 'tcp')] }),
    service('default', 'b', { clusterIP: '10.0.0.1', ports: [port('tcp', 5433 + extra, 'tcp')] }),
  ]);
const fine = () => modelOf([service('default', 'a', { clusterIP: '10.0.0.1', ports: [port('tcp', 5432, 'tcp')] })]);

describe('SnapshotBuilder report', () => {
  it('reports a problem once however many classes and models have it, and not once it is gone', () => {
    const classes = ['sidecar/default/p1', 'sidecar/default/p2', 'sidecar/shop/p3'];
    const builder = new SnapshotBuilder(new SnapshotCache(), () => classes, pino({ level: 'silent' }));
    const clashes = () => builder.report().translation.filter((e) => e.object?.kind === 'Service' && e.object.name === 'b').length;

    builder.setModel(clash());
    expect(clashes()).toBe(1);
    builder.setModel(clash(1)); // another model, the same problem
    builder.demand('sidecar/shop/p4');
    expect(clashes()).toBe(1);

    builder.setModel(fine());
    expect(builder.report().translation).toEqual([]);
  });
});

describe('SnapshotBuilder: a change costs what it changes', () => {
  /** Twelve services in two namespaces (HTTP and TCP), a workload behind each, one sidecar class per workload. */
  function mesh(): { services: ModelService[]; workloads: ModelWorkload[]; classes: string[] } {
    const services: ModelService[] = [];
    const workloads: ModelWorkload[] = [];
    for (let i = 0; i < 12; i++) {
      const namespace = i % 2 === 0 ? 'default' : 'shop';
      const tcp = i % 4 === 3;
      const ports = [port(tcp ? 'tcp' : 'http', tcp ? 5432 : 80, tcp ? 'tcp' : 'http', [endpoint(`10.1.0.${i + 1}`, 8080, 'z')], 8080)];
      services.push(service(namespace, `svc-${i}`, { clusterIP: `10.0.0.${i + 1}`, ports }));
      workloads.push(workload(namespace, `svc-${i}-0`, `10.1.0.${i + 1}`, [{ name: 'http', port: 8080, protocol: 'http' }], [`${namespace}/svc-${i}`]));
    }
    return { services, workloads, classes: workloads.map((w) => `sidecar/${w.namespace}/${w.name}`) };
  }

  it('on an endpoint change, encodes one assignment and leaves every class’s clusters, listeners and routes as they were', () => {
    const { services, workloads, classes } = mesh();
    const cache = new SnapshotCache();
    const builder = new SnapshotBuilder(cache, () => classes, pino({ level: 'silent' }));
    builder.setModel(modelOf(services, workloads));
    const before = new Map(classes.map((c) => [c, cache.get(c)]));
    const changes: SnapshotChange[] = [];
    cache.onChange((c) => changes.push(c));

    const moved = services.map((s) => (s.name === 'svc-4' ? { ...s, ports: s.ports.map((p) => ({ ...p, endpoints: [endpoint('10.9.9.9', 8080, 'z')] })) } : s));
    builder.setModel(modelOf(moved, workloads));

    expect(builder.lastBuild).toMatchObject({ classes: classes.length, encoded: 1 });
    expect(changes.map((c) => c.proxyClass).sort()).toEqual([...classes].sort());
    for (const c of classes) {
      const [was, now] = [before.get(c), cache.get(c)];
      expect(now?.cluster).toBe(was?.cluster);
      expect(now?.listener).toBe(was?.listener);
      expect(now?.route).toBe(was?.route);
      expect(now?.endpoint).not.toBe(was?.endpoint);
    }
    for (const change of changes) {
      expect([...change.kinds.keys()]).toEqual(['endpoint']);
      expect([...(change.kinds.get('endpoint')?.updated ?? [])]).toEqual(['outbound|80||svc-4.default.svc.cluster.local']);
    }
  });

  it('on a change to one service’s ports, makes again its cluster, listener and the routes that name it, and nothing else', () => {
    const { services, workloads, classes } = mesh();
    const cache = new SnapshotCache();
    const builder = new SnapshotBuilder(cache, () => classes, pino({ level: 'silent' }));
    builder.setModel(modelOf(services, workloads));
    const changes: SnapshotChange[] = [];
    cache.onChange((c) => changes.push(c));

    const renamed = services.map((s) => (s.name === 'svc-3' ? { ...s, ports: s.ports.map((p) => ({ ...p, port: 5433 })) } : s));
    builder.setModel(modelOf(renamed, workloads));

    // svc-3 is TCP: its cluster, its assignment and its listener are new, the old ones removed; no route names it.
    expect(builder.lastBuild.encoded).toBe(3);
    for (const change of changes) {
      expect([...change.kinds.keys()].sort()).toEqual(['cluster', 'endpoint', 'listener']);
      expect([...(change.kinds.get('listener')?.updated ?? [])]).toEqual(['10.0.0.4_5433']);
      expect([...(change.kinds.get('listener')?.removed ?? [])]).toEqual(['10.0.0.4_5432']);
    }
  });
});

describe('SnapshotBuilder: the first sidecar of a pod', () => {
  it('finds what every sidecar shares encoded already, and encodes only its own resources', () => {
    const services = Array.from({ length: 30 }, (_, i) =>
      service('default', `svc-${i}`, { clusterIP: `10.0.0.${i + 1}`, ports: [port('http', 80, 'http', [endpoint(`10.1.0.${i + 1}`, 8080, 'z')], 8080)] }),
    );
    const workloads = [workload('default', 'svc-0-0', '10.1.0.1', [{ name: 'http', port: 8080, protocol: 'http' }], ['default/svc-0'])];
    const cache = new SnapshotCache();
    const builder = new SnapshotBuilder(cache, () => [], pino({ level: 'silent' }));
    builder.setModel(modelOf(services, workloads));
    // 30 outbound clusters and PassthroughCluster, 30 assignments, virtualOutbound and the port-80
    // listener, the port-80 routes as a namespace without services has them, and as namespace
    // default has them (a pod of it has an unscoped sidecar; there its services answer to their
    // short names too).
    expect(cache.encodes).toBe(31 + 30 + 2 + 1 + 1);
    const before = cache.encodes;
    builder.demand('sidecar/default/svc-0-0');
    // Its own: InboundPassthroughCluster, inbound|8080||, virtualInbound.
    expect(cache.encodes - before).toBe(3);
    expect(cache.get('sidecar/default/svc-0-0')?.cluster.entries.size).toBe(33);
    // Its namespace's routes are let go once no pod of it has an unscoped sidecar.
    expect(cache.preparedKeys()).toContain('sidecar routes of namespace default');
    builder.setModel(modelOf(services, []));
    expect(cache.preparedKeys()).toEqual(['sidecar (shared)']);
  });
});
