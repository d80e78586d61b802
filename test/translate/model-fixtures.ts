/**
 * Small meshes, built by hand as buildModel would build them, for the translation tests.
 *
 * The mesh: namespaces `default` and `shop`.
 *   default/web      ClusterIP 10.96.0.10  http  80 → 8080   3 ready endpoints, zones a (2) and b (1)
 *   default/greeter  ClusterIP 10.96.0.11  grpc  50051        1 ready endpoint, zone a
 *   default/ext      ExternalName api.example.com  http 80, tcp 443
 *   shop/cart        ClusterIP 10.96.0.21  http  80 → 8080   only a terminating-but-serving endpoint, zone b
 *   shop/db          ClusterIP 10.96.0.20  tcp   5432         1 ready endpoint, zone b
 *   shop/pods        Headless              http  8080, tcp 9000
 *   shop/idle        ClusterIP 10.96.0.22  http2 8081         no endpoints
 * Workloads: default/web-0 (http 8080, grpc 50051, tcp 9090, and Envoy's own 15090), shop/cart-0 (http 8080).
 */
import type { ObjectRef } from '../../src/diagnostics.ts';
import type { AppProtocol, Locality, MeshModel, ModelEndpoint, ModelService, ModelServicePort, ModelWorkload, ServiceKind } from '../../src/model/types.ts';

export const DOMAIN = 'cluster.local';

export function locality(zone: string, region = 'region-1', subZone = ''): Locality {
  return { region, zone, subZone };
}

export function endpoint(address: string, port: number, zone: string, options: { ready?: boolean; slice?: string } = {}): ModelEndpoint {
  return { address, port, ready: options.ready ?? true, locality: locality(zone), source: sliceRef(options.slice ?? 'default/web-abcde') };
}

function sliceRef(nsName: string): ObjectRef {
  const [namespace = '', name = ''] = nsName.split('/');
  return { kind: 'EndpointSlice', namespace, name };
}

export function port(
  name: string,
  number: number,
  protocol: AppProtocol,
  endpoints: ModelEndpoint[] = [],
  targetPort: number | string = number,
): ModelServicePort {
  return { name, port: number, protocol, targetPort, endpoints };
}

export interface ServiceOptions {
  kind?: ServiceKind;
  clusterIP?: string;
  externalName?: string;
  ports: ModelServicePort[];
}

export function service(namespace: string, name: string, options: ServiceOptions): ModelService {
  const kind = options.kind ?? 'ClusterIP';
  return {
    namespace,
    name,
    hostname: `${name}.${namespace}.svc.${DOMAIN}`,
    kind,
    ...(options.clusterIP !== undefined ? { clusterIP: options.clusterIP } : {}),
    ...(options.externalName !== undefined ? { externalName: options.externalName } : {}),
    selector: kind === 'ExternalName' ? {} : { app: name },
    ports: options.ports,
    source: { kind: 'Service', namespace, name },
  };
}

export function workload(
  namespace: string,
  name: string,
  ip: string,
  ports: { name: string; port: number; protocol: AppProtocol }[],
  services: string[] = [],
): ModelWorkload {
  return {
    namespace,
    name,
    ip,
    labels: { app: name.replace(/-\d+$/, '') },
    serviceAccount: 'default',
    identity: `spiffe://${DOMAIN}/ns/${namespace}/sa/default`,
    ports,
    services,
    source: { kind: 'Pod', namespace, name },
  };
}

function sortServices(services: ModelService[]): ModelService[] {
  return [...services].sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}

/** A model of the given services and workloads, sorted as buildModel sorts them. */
export function modelOf(services: ModelService[], workloads: ModelWorkload[] = []): MeshModel {
  return {
    domain: DOMAIN,
    trustDomain: DOMAIN,
    services: sortServices(services),
    workloads: [...workloads].sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1)),
    policies: [],
    diagnostics: [],
  };
}

export function meshServices(): ModelService[] {
  const web = 'default/web-abcde';
  return [
    service('default', 'web', {
      clusterIP: '10.96.0.10',
      ports: [
        port(
          'http',
          80,
          'http',
          [
            endpoint('10.0.1.1', 8080, 'zone-a', { slice: web }),
            endpoint('10.0.1.2', 8080, 'zone-a', { slice: web }),
            endpoint('10.0.2.1', 8080, 'zone-b', { slice: web }),
          ],
          8080,
        ),
      ],
    }),
    service('default', 'greeter', {
      clusterIP: '10.96.0.11',
      ports: [port('grpc', 50051, 'grpc', [endpoint('10.0.1.5', 50051, 'zone-a', { slice: 'default/greeter-x1' })])],
    }),
    service('default', 'ext', { kind: 'ExternalName', externalName: 'api.example.com', ports: [port('http', 80, 'http'), port('tcp-https', 443, 'tcp')] }),
    service('shop', 'cart', {
      clusterIP: '10.96.0.21',
      ports: [port('http', 80, 'http', [endpoint('10.0.2.7', 8080, 'zone-b', { ready: false, slice: 'shop/cart-q2' })], 8080)],
    }),
    service('shop', 'db', {
      clusterIP: '10.96.0.20',
      ports: [port('tcp-postgres', 5432, 'tcp', [endpoint('10.0.2.9', 5432, 'zone-b', { slice: 'shop/db-z9' })])],
    }),
    service('shop', 'pods', { kind: 'Headless', ports: [port('http', 8080, 'http'), port('tcp', 9000, 'tcp')] }),
    service('shop', 'idle', { clusterIP: '10.96.0.22', ports: [port('http2', 8081, 'http2')] }),
  ];
}

export function meshWorkloads(): ModelWorkload[] {
  return [
    workload(
      'default',
      'web-0',
      '10.0.1.1',
      [
        { name: 'http', port: 8080, protocol: 'http' },
        { name: 'grpc', port: 50051, protocol: 'grpc' },
        { name: 'tcp-metrics', port: 9090, protocol: 'tcp' },
        { name: 'http-envoy-prom', port: 15090, protocol: 'http' },
      ],
      ['default/web'],
    ),
    workload('shop', 'cart-0', '10.0.2.7', [{ name: 'http', port: 8080, protocol: 'http' }], ['shop/cart']),
  ];
}

/** The whole fixture mesh. A fresh object each call: translation memoises per model object. */
export function mesh(): MeshModel {
  return modelOf(meshServices(), meshWorkloads());
}

export const WEB_PROXY = { mode: 'sidecar', namespace: 'default', pod: 'web-0' } as const;
export const CART_PROXY = { mode: 'sidecar', namespace: 'shop', pod: 'cart-0' } as const;
