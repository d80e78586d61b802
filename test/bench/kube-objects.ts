/**
 * The objects of the Kubernetes scale bench, built once and used twice: created in the API server,
 * and written as a manifests directory. Service i lives in namespace `bench-<i mod namespaces>`, has
 * a fixed ClusterIP, one EndpointSlice and `podsPerService` Pods, each with a distinct 10.x IP, labels
 * its selector matches and a spec about as large as a small real Deployment's Pods. With `reachable`
 * K, each Pod of service i also carries REACHABLE_ANNOTATION naming what it calls (reachableServices).
 */
import { stringify } from 'yaml';

export interface ScaleParams {
  readonly services: number;
  readonly podsPerService: number;
  readonly namespaces: number;
  /**
   * K: every Pod of service i carries REACHABLE_ANNOTATION listing services i+1 … i+K (mod S) and
   * service 0, the dependency every pod shares. Absent: no annotation (every sidecar reaches everything).
   */
  readonly reachable?: number;
}

/** The Pod annotation scoping a sidecar to the services it names (`namespace/name`, `namespace/*`, `./name`, `./*`). */
import { REACHABLE_ANNOTATION } from '../../src/model/reachable.ts';

export { REACHABLE_ANNOTATION };

/** One Service with its slice and Pods; Pods carry their status (what the API server gets through /status). */
export interface ServiceGroup {
  readonly namespace: string;
  readonly name: string;
  readonly service: Record<string, unknown>;
  readonly slice: Record<string, unknown>;
  readonly pods: readonly { readonly name: string; readonly body: Record<string, unknown>; readonly status: Record<string, unknown> }[];
}

/** The API server's --service-cluster-ip-range in test/support/envtest.ts is 10.96.0.0/16. */
const MAX_SERVICES = 65_000;

export function validateParams(p: ScaleParams): void {
  if (p.services < 1 || p.services > MAX_SERVICES) throw new Error(`--services must be between 1 and ${MAX_SERVICES}`);
  if (p.podsPerService < 1 || p.podsPerService > 100)
    throw new Error('--pods-per-service must be between 1 and 100 (one EndpointSlice holds at most 100 endpoints)');
  if (p.namespaces < 1 || p.namespaces > 1000) throw new Error('--namespaces must be between 1 and 1000');
  if (p.reachable !== undefined && (!Number.isInteger(p.reachable) || p.reachable < 0 || p.reachable >= p.services))
    throw new Error(`--reachable must be an integer between 0 and services - 1 (${p.services - 1})`);
}

export function namespaceName(i: number): string {
  return `bench-${String(i).padStart(2, '0')}`;
}

export function namespaceObject(i: number): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(i), labels: { 'trellis.dev/bench': 'kube-scale' } } };
}

const serviceName = (i: number): string => `svc-${String(i).padStart(5, '0')}`;

/**
 * What the Pods of service i reach with `reachable` K: services i+1 … i+K (indices mod S), then
 * service 0 (which every pod calls), each `namespace/name` and once; undefined without `reachable`.
 */
export function reachableServices(i: number, p: ScaleParams): string[] | undefined {
  if (p.reachable === undefined) return undefined;
  const indices = [...Array.from({ length: p.reachable }, (_, k) => (i + 1 + k) % p.services), 0];
  return [...new Set(indices)].map((j) => `${namespaceName(j % p.namespaces)}/${serviceName(j)}`);
}

function ipv4(base: number, n: number): string {
  const v = (base + n) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const CLUSTER_IP_BASE = (10 << 24) | (96 << 16); // 10.96.0.0, inside the API server's service range
const POD_IP_BASE = (10 << 24) | (128 << 16); // 10.128.0.0/9: 8 M pod addresses
const ZONES = ['zone-a', 'zone-b', 'zone-c'];

export function serviceGroup(i: number, p: ScaleParams): ServiceGroup {
  const namespace = namespaceName(i % p.namespaces);
  const name = serviceName(i);
  const hash = (i * 2654435761) >>> 0;
  const templateHash = hash.toString(36).padStart(7, '0').slice(0, 7);
  const labels = { app: name, tier: i % 3 === 0 ? 'frontend' : 'backend' };
  const reachable = reachableServices(i, p);
  const annotations = {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': '9090',
    ...(reachable ? { [REACHABLE_ANNOTATION]: reachable.join(',') } : {}),
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...labels } },
    spec: {
      type: 'ClusterIP',
      // .10 onwards: the API server keeps 10.96.0.1 for its own `kubernetes` Service.
      clusterIP: ipv4(CLUSTER_IP_BASE, i + 10),
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
  const pods = Array.from({ length: p.podsPerService }, (_, j) => {
    const podName = `${name}-${templateHash}-${j}`;
    const ip = ipv4(POD_IP_BASE, i * p.podsPerService + j + 1);
    const node = `node-${String((i * p.podsPerService + j) % 500).padStart(3, '0')}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace,
        labels: { ...labels, 'pod-template-hash': templateHash },
        annotations: { ...annotations },
      },
      spec: {
        serviceAccountName: name,
        nodeName: node,
        containers: [
          {
            name: 'app',
            image: `registry.example.com/team/${name}:1.4.2`,
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
            ],
            env: [
              { name: 'SERVICE_NAME', value: name },
              { name: 'LOG_LEVEL', value: 'info' },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            ],
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
            livenessProbe: { httpGet: { path: '/livez', port: 8080 }, periodSeconds: 10 },
          },
        ],
      },
    };
    const status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: `192.168.${Math.floor(((i * p.podsPerService + j) % 500) / 250)}.${((i * p.podsPerService + j) % 250) + 1}`,
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
    };
    return { name: podName, body, status, ip, node };
  });
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-${templateHash.slice(0, 5)}`,
      namespace,
      labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
    addressType: 'IPv4',
    endpoints: pods.map((pod, j) => ({
      addresses: [pod.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: pod.node,
      zone: ZONES[j % ZONES.length],
      targetRef: { kind: 'Pod', name: pod.name, namespace },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
  return { namespace, name, service, slice, pods: pods.map(({ name: n, body, status }) => ({ name: n, body, status })) };
}

/** The manifests file of one service: the Service, its slice and its Pods (with their status), as YAML documents. */
export function groupYaml(g: ServiceGroup): string {
  const docs = [g.service, g.slice, ...g.pods.map((pod) => ({ ...pod.body, status: pod.status }))];
  return docs.map((d) => stringify(d)).join('---\n');
}

export function namespacesYaml(p: ScaleParams): string {
  return Array.from({ length: p.namespaces }, (_, i) => stringify(namespaceObject(i))).join('---\n');
}

/**
 * The same file with only what Trellis reads of a Pod (labels, REACHABLE_ANNOTATION if any, service
 * account, node, container ports, IP and phase): the manifests source parses every file again on each
 * change, so CPU per change there is mostly YAML in proportion to the directory's size.
 */
export function leanGroupYaml(g: ServiceGroup): string {
  const lean = g.pods.map(({ body, status }) => {
    const metadata = body.metadata as { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
    const reachable = metadata.annotations[REACHABLE_ANNOTATION];
    const spec = body.spec as { serviceAccountName: string; nodeName: string; containers: { name: string; ports: unknown[] }[] };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: metadata.name,
        namespace: metadata.namespace,
        labels: metadata.labels,
        ...(reachable === undefined ? {} : { annotations: { [REACHABLE_ANNOTATION]: reachable } }),
      },
      spec: {
        serviceAccountName: spec.serviceAccountName,
        nodeName: spec.nodeName,
        containers: spec.containers.map((c) => ({ name: c.name, ports: c.ports })),
      },
      status: { podIP: status.podIP, phase: status.phase },
    };
  });
  return [g.service, g.slice, ...lean].map((d) => stringify(d)).join('---\n');
}
