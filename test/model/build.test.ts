import { describe, expect, it } from 'vitest';
import { objectStatuses, ref } from '../support/diagnostics.ts';
import { buildModel } from '../../src/model/build.ts';
import { endpointSliceSchema, podSchema, serviceSchema, type MeshInputs } from '../../src/model/inputs.ts';
import { protocolOf } from '../../src/model/protocol.ts';

function service(name: string, spec: Record<string, unknown>, namespace = 'default'): MeshInputs['services'][number] {
  return {
    object: serviceSchema.parse({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec }),
    origin: { file: `${name}.yaml`, document: 0 },
  };
}

type Ep = { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; zone?: string };

function slice(
  name: string,
  svc: string,
  endpoints: Ep[],
  ports: { name: string; port: number }[],
  namespace = 'default',
): MeshInputs['endpointSlices'][number] {
  return {
    object: endpointSliceSchema.parse({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': svc } },
      addressType: 'IPv4',
      endpoints: endpoints.map((e) => ({
        addresses: [e.ip],
        conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
        ...(e.zone ? { zone: e.zone } : {}),
      })),
      ports,
    }),
    origin: { file: `${name}.yaml`, document: 0 },
  };
}

function pod(
  name: string,
  labels: Record<string, string>,
  ip: string | undefined,
  ports: { name?: string; containerPort: number }[] = [],
): MeshInputs['pods'][number] {
  return {
    object: podSchema.parse({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels },
      spec: { serviceAccountName: 'web-sa', containers: [{ name: 'app', ports }] },
      status: ip ? { podIP: ip } : {},
    }),
    origin: {},
  };
}

function inputs(parts: Partial<MeshInputs>): MeshInputs {
  return { namespaces: [], nodes: [], services: [], endpointSlices: [], pods: [], trafficPolicies: [], ...parts };
}

describe('protocol of a port', () => {
  it.each([
    [{ name: 'web', appProtocol: 'http' }, 'http'],
    [{ name: 'grpc', appProtocol: 'kubernetes.io/h2c' }, 'http2'],
    [{ name: 'http-web' }, 'http'],
    [{ name: 'http2-api' }, 'http2'],
    [{ name: 'grpc' }, 'grpc'],
    [{ name: 'grpc-internal' }, 'grpc'],
    [{ name: 'tcp-db' }, 'tcp'],
    [{ name: 'httpx' }, 'tcp'],
    [{ name: '' }, 'tcp'],
    [{ name: 'http', appProtocol: 'tcp' }, 'tcp'],
  ])('%j speaks %s', (port, expected) => {
    expect(protocolOf(port)).toBe(expected);
  });
});

describe('buildModel: services and endpoints', () => {
  const web = service('web', { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });

  it('gives a service its FQDN, ports with protocols, and the ready endpoints sorted', () => {
    const model = buildModel(
      inputs({
        services: [web],
        endpointSlices: [
          slice(
            'web-a',
            'web',
            [
              { ip: '10.0.0.2', zone: 'z2' },
              { ip: '10.0.0.1', zone: 'z1' },
              { ip: '10.0.0.3', ready: false },
            ],
            [{ name: 'http', port: 8080 }],
          ),
        ],
      }),
    );
    expect(model.services).toEqual([
      {
        namespace: 'default',
        name: 'web',
        hostname: 'web.default.svc.cluster.local',
        kind: 'ClusterIP',
        clusterIP: '10.96.0.10',
        selector: { app: 'web' },
        ports: [
          {
            name: 'http',
            port: 80,
            protocol: 'http',
            targetPort: 8080,
            endpoints: [
              { address: '10.0.0.1', port: 8080, ready: true, locality: { region: '', zone: 'z1', subZone: '' }, source: ref('EndpointSlice default/web-a') },
              { address: '10.0.0.2', port: 8080, ready: true, locality: { region: '', zone: 'z2', subZone: '' }, source: ref('EndpointSlice default/web-a') },
            ],
          },
        ],
        source: ref('Service default/web'),
      },
    ]);
    expect(objectStatuses(model.diagnostics)).toEqual([]);
  });

  it.each([
    [
      'uses terminating endpoints that still serve only when none is ready',
      [
        { ip: '10.0.0.1', ready: false, serving: true, terminating: true },
        { ip: '10.0.0.2', ready: false },
      ],
      [['10.0.0.1', false]],
    ],
    [
      'prefers ready endpoints over terminating serving ones',
      [{ ip: '10.0.0.1', ready: false, serving: true, terminating: true }, { ip: '10.0.0.2' }],
      [['10.0.0.2', true]],
    ],
    ['gives no traffic to terminating endpoints that no longer serve', [{ ip: '10.0.0.1', ready: false, serving: false, terminating: true }], []],
    ['treats missing conditions as ready', [{ ip: '10.0.0.1' }], [['10.0.0.1', true]]],
  ] as const)('%s', (_label, eps, expected) => {
    const model = buildModel(inputs({ services: [web], endpointSlices: [slice('web-a', 'web', [...eps], [{ name: 'http', port: 8080 }])] }));
    expect(model.services[0]?.ports[0]?.endpoints.map((e) => [e.address, e.ready])).toEqual(expected);
  });

  it('merges slices and counts an address listed in two slices once', () => {
    const model = buildModel(
      inputs({
        services: [web],
        endpointSlices: [
          slice('web-a', 'web', [{ ip: '10.0.0.1' }], [{ name: 'http', port: 8080 }]),
          slice('web-b', 'web', [{ ip: '10.0.0.1' }, { ip: '10.0.0.9' }], [{ name: 'http', port: 8080 }]),
        ],
      }),
    );
    expect(model.services[0]?.ports[0]?.endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.9']);
  });

  it('recognises headless and ExternalName services', () => {
    const model = buildModel(
      inputs({
        services: [
          service('db', { clusterIP: 'None', ports: [{ name: 'tcp', port: 5432 }] }),
          service('ext', { type: 'ExternalName', externalName: 'api.example.com', ports: [{ name: 'https', port: 443 }] }),
        ],
      }),
    );
    expect(model.services.map((s) => [s.name, s.kind, s.externalName])).toEqual([
      ['db', 'Headless', undefined],
      ['ext', 'ExternalName', 'api.example.com'],
    ]);
  });

  it.each([
    ['an ExternalName service without a name', service('x', { type: 'ExternalName', ports: [] }), 'Service default/x', 'spec.externalName', false],
    [
      'a port listed twice',
      service('x', {
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 80 },
        ],
      }),
      'Service default/x',
      'spec.ports[1].port',
      false,
    ],
    ['a UDP port', service('x', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }), 'Service default/x', 'spec.ports[0].protocol', true],
  ] as const)('reports %s on the object and field', (_label, svc, object, field, accepted) => {
    const model = buildModel(inputs({ services: [svc] }));
    expect(objectStatuses(model.diagnostics)).toMatchObject([{ object, accepted, origin: { file: 'x.yaml', document: 0 } }]);
    const status = objectStatuses(model.diagnostics)[0];
    expect([...(status?.errors ?? []), ...(status?.warnings ?? [])].map((e) => e.field)).toEqual([field]);
  });

  it('warns about slices whose Service does not exist, or that name none', () => {
    const orphan = slice('lost', 'nowhere', [{ ip: '10.0.0.1' }], [{ name: 'http', port: 80 }]);
    const unnamed = { ...orphan, object: { ...orphan.object, metadata: { ...orphan.object.metadata, name: 'unnamed', labels: {} } } };
    const model = buildModel(inputs({ endpointSlices: [orphan, unnamed] }));
    expect(objectStatuses(model.diagnostics).map((s) => [s.object, s.accepted, s.warnings[0]?.message])).toEqual([
      ['EndpointSlice default/lost', true, 'Service default/nowhere does not exist; the slice is ignored until it does'],
      ['EndpointSlice default/unnamed', true, 'missing: the slice belongs to no Service and is ignored'],
    ]);
  });
});

describe('buildModel: workloads', () => {
  it('makes a workload of a pod with its identity, the services selecting it and the ports they target', () => {
    const model = buildModel(
      inputs({
        services: [
          service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] }),
          service('admin', { selector: { app: 'web', tier: 'x' }, ports: [{ name: 'grpc', port: 9000 }] }),
        ],
        pods: [
          pod('web-1', { app: 'web' }, '10.0.0.5', [
            { name: 'web', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ]),
        ],
      }),
    );
    expect(model.workloads).toEqual([
      {
        namespace: 'default',
        name: 'web-1',
        ip: '10.0.0.5',
        labels: { app: 'web' },
        serviceAccount: 'web-sa',
        identity: 'spiffe://cluster.local/ns/default/sa/web-sa',
        ports: [
          { name: 'http', port: 8080, protocol: 'http' },
          { name: 'metrics', port: 9090, protocol: 'tcp' },
        ],
        services: ['default/web'],
        source: ref('Pod default/web-1'),
      },
    ]);
  });

  it('is selected only by services of its own namespace, and never by one without a selector', () => {
    const model = buildModel(
      inputs({
        services: [
          service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }),
          service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }, 'elsewhere'),
          service('manual', { ports: [{ name: 'http', port: 80 }] }),
        ],
        pods: [pod('web-1', { app: 'web' }, '10.0.0.5')],
      }),
    );
    expect(model.workloads[0]?.services).toEqual(['default/web']);
  });

  it('leaves out a pod without an IP, with a warning', () => {
    const model = buildModel(inputs({ pods: [pod('pending', {}, undefined)] }));
    expect(model.workloads).toEqual([]);
    expect(objectStatuses(model.diagnostics).map((s) => [s.object, s.warnings[0]?.field])).toEqual([['Pod default/pending', 'status.podIP']]);
  });
});
