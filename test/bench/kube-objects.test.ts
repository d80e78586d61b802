import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { changeTarget } from './kube-proxies.ts';
import { groupYaml, leanGroupYaml, REACHABLE_ANNOTATION, reachableServices, serviceGroup, validateParams, type ScaleParams } from './kube-objects.ts';

const base: ScaleParams = { services: 10, podsPerService: 2, namespaces: 4 };
const annotations = (p: ScaleParams, i: number): Record<string, string>[] =>
  serviceGroup(i, p).pods.map((pod) => (pod.body.metadata as { annotations: Record<string, string> }).annotations);

describe('the bench pods with --reachable K', () => {
  it('annotates every pod of service i with services i+1 … i+K (mod S) and service 0, as namespace/name', () => {
    const p = { ...base, reachable: 3 };
    for (const a of annotations(p, 2)) expect(a[REACHABLE_ANNOTATION]).toBe('bench-03/svc-00003,bench-00/svc-00004,bench-01/svc-00005,bench-00/svc-00000');
    // Wrapping past the last service, and service 0 only once.
    expect(reachableServices(8, p)).toEqual(['bench-01/svc-00009', 'bench-00/svc-00000', 'bench-01/svc-00001']);
    expect(reachableServices(0, p)).toEqual(['bench-01/svc-00001', 'bench-02/svc-00002', 'bench-03/svc-00003', 'bench-00/svc-00000']);
    expect(reachableServices(5, { ...base, reachable: 0 })).toEqual(['bench-00/svc-00000']);
  });

  it('leaves the pods otherwise as they are, and without --reachable unannotated', () => {
    const plain = serviceGroup(2, base);
    const scoped = serviceGroup(2, { ...base, reachable: 3 });
    expect(reachableServices(2, base)).toBeUndefined();
    for (const a of annotations(base, 2)) expect(a).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' });
    const strip = (g: typeof plain): unknown =>
      g.pods.map((pod) => {
        const { annotations: a, ...metadata } = pod.body.metadata as { annotations: Record<string, string> };
        const { [REACHABLE_ANNOTATION]: _, ...rest } = a;
        return { ...pod, body: { ...pod.body, metadata: { ...metadata, annotations: rest } } };
      });
    expect(strip(scoped)).toEqual(strip(plain));
    expect({ ...scoped, pods: [] }).toEqual({ ...plain, pods: [] });
  });

  it('writes the annotation in the manifests, the lean ones too', () => {
    const g = serviceGroup(2, { ...base, reachable: 1 });
    for (const text of [groupYaml(g), leanGroupYaml(g)]) {
      const pods = parseAllDocuments(text)
        .map((d) => d.toJS() as { kind: string; metadata: { annotations?: Record<string, string> } })
        .filter((d) => d.kind === 'Pod');
      expect(pods).toHaveLength(2);
      for (const pod of pods) expect(pod.metadata.annotations?.[REACHABLE_ANNOTATION]).toBe('bench-03/svc-00003,bench-00/svc-00000');
    }
    expect(leanGroupYaml(serviceGroup(2, base))).not.toContain('annotations');
  });

  it('has the endpoint changes patch service 0, which every pod reaches; without --reachable the last service', () => {
    const p = { ...base, reachable: 2 };
    const target = changeTarget(p);
    expect(`${target.namespace}/${target.name}`).toBe('bench-00/svc-00000');
    for (let i = 0; i < p.services; i++) expect(reachableServices(i, p)).toContain('bench-00/svc-00000');
    expect(changeTarget(base).name).toBe('svc-00009');
  });

  it('accepts 0 to services - 1', () => {
    expect(() => validateParams({ ...base, reachable: 0 })).not.toThrow();
    expect(() => validateParams({ ...base, reachable: 9 })).not.toThrow();
    expect(() => validateParams({ ...base, reachable: 10 })).toThrow(/--reachable/);
    expect(() => validateParams({ ...base, reachable: -1 })).toThrow(/--reachable/);
  });
});
