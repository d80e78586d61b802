/**
 * A sidecar's reach (Pod annotation `trellis.dev/reachable-services`, model/reachable.ts): the
 * model reads and checks it, and a sidecar of an annotated pod receives only the services it
 * reaches, with what their routes send to, as the very objects every other sidecar gets.
 */
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.ts';
import type { MeshInputs } from '../../src/model/inputs.ts';
import type { MeshModel } from '../../src/model/types.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { flat } from '../support/diagnostics.ts';
import { names } from './sidecar-helpers.ts';

function svc(namespace: string, name: string, ip: string, ports = [{ name: 'http', port: 80 }]): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  clusterIP: ${ip}
  selector: {app: ${name}}
  ports: [${ports.map((p) => `{name: ${p.name}, port: ${p.port}, targetPort: 8080}`).join(', ')}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [{addresses: ["${ip.replace('10.96', '10.1')}"], conditions: {ready: true}, targetRef: {kind: Pod, name: ${name}-0, namespace: ${namespace}}}]
ports: [{name: http, port: 8080}]
`;
}

function pod(namespace: string, name: string, app: string, ip: string, reach?: string): string {
  const annotations = reach === undefined ? '' : `, annotations: {trellis.dev/reachable-services: ${JSON.stringify(reach)}}`;
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: {app: ${app}, version: v1}${annotations}}
spec: {containers: [{name: app, ports: [{containerPort: 8080}]}]}
status: {podIP: ${ip}}
`;
}

/** shop/cart routes 10% to shop/cart-next (a policy backend); shop/db is TCP; other/api lives elsewhere. */
const POLICY = `apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: canary, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: cart}]
  routing:
    http:
      - backends: [{service: cart, port: 80, weight: 90}, {service: cart-next, port: 80, weight: 10}]
`;

function inputsOf(reach: string | undefined, extra = ''): MeshInputs {
  const text = [
    svc('shop', 'cart', '10.96.0.10'),
    svc('shop', 'cart-next', '10.96.0.11'),
    svc('shop', 'db', '10.96.0.12', [{ name: 'tcp-pg', port: 5432 }]),
    svc('shop', 'web', '10.96.0.13'),
    svc('other', 'api', '10.96.0.20'),
    svc('other', 'auth', '10.96.0.21'),
    POLICY,
    pod('shop', 'web-0', 'web', '10.1.0.13', reach),
    pod('shop', 'web-1', 'web', '10.1.0.14'),
    extra,
  ].join('---\n');
  const parsed = parseManifests([{ path: 'mesh.yaml', text }]);
  expect([...parsed.errors, ...parsed.warnings]).toEqual([]);
  return parsed.inputs;
}

function model(reach: string | undefined): MeshModel {
  const m = buildModel(inputsOf(reach));
  expect(flat(m.diagnostics).filter((d) => !d.object?.startsWith('Pod '))).toEqual([]);
  return m;
}

const SCOPED = { mode: 'sidecar', namespace: 'shop', pod: 'web-0' } as const;
const UNSCOPED = { mode: 'sidecar', namespace: 'shop', pod: 'web-1' } as const;
const outbound = (list: string[]) => list.filter((n) => n.startsWith('outbound|'));

describe('the model reads a pod reach', () => {
  it.each([
    ['./cart', ['shop/cart']],
    [' other/*, ./cart ,shop/cart', ['other/*', 'shop/cart']],
    ['', []],
  ])('%j is %j', (reach, expected) => {
    expect(model(reach).workloads.find((w) => w.name === 'web-0')?.reachable).toEqual(expected);
  });

  it.each(['*', 'shop/*, *'])('%j and no annotation reach every service', (reach) => {
    expect(model(reach).workloads.find((w) => w.name === 'web-0')?.reachable).toBeUndefined();
    expect(model(undefined).workloads.find((w) => w.name === 'web-0')?.reachable).toBeUndefined();
  });

  it('names the pod, the annotation and each bad entry, and leaves the sidecar unscoped', () => {
    const m = model('./cart, Shop/cart, other/api/v1, other/9lives');
    expect(m.workloads.find((w) => w.name === 'web-0')?.reachable).toBeUndefined();
    const found = flat(m.diagnostics).filter((d) => d.object === 'Pod shop/web-0');
    expect(found).toHaveLength(1);
    expect(found[0]).not.toHaveProperty('severity'); // an error
    expect(found[0]).toMatchObject({ field: 'metadata.annotations["trellis.dev/reachable-services"]' });
    expect(found[0]?.message).toMatch(/entry "Shop\/cart": the namespace must be a DNS-1123 label/);
    expect(found[0]?.message).toMatch(/entry "other\/api\/v1" must be namespace\/name/);
    expect(found[0]?.message).toMatch(/entry "other\/9lives": the service name must be a DNS-1035 label/);
    expect(found[0]?.message).toMatch(/not scoped and reaches every service$/);
    expect(names(translateSidecar(m, SCOPED), 'cluster')).toEqual(names(translateSidecar(m, UNSCOPED), 'cluster'));
  });
});

describe('a reach naming Services that do not exist', () => {
  const FIELD = 'metadata.annotations["trellis.dev/reachable-services"]';
  const warnings = (m: MeshModel) => m.diagnostics.filter((d) => d.field === FIELD);

  it('is a warning on the pod naming each missing Service and its file; the sidecar stays scoped to the rest', () => {
    const m = buildModel(inputsOf('./cart, other/billing, shop/nope, void/*'));
    const found = warnings(m);
    expect(flat(found)).toEqual([
      {
        object: 'Pod shop/web-0',
        field: FIELD,
        severity: 'warning',
        message:
          'names Service other/billing, Service shop/nope, which do not exist: the sidecar gets nothing for them until they do, and traffic to them passes through unmanaged',
      },
    ]);
    expect(found[0]?.origin?.file).toBe('mesh.yaml');
    expect(m.workloads.find((w) => w.name === 'web-0')?.reachable).toEqual(['other/billing', 'shop/cart', 'shop/nope', 'void/*']);
    expect(outbound(names(translateSidecar(m, SCOPED), 'cluster'))).toEqual([
      'outbound|80||cart-next.shop.svc.cluster.local',
      'outbound|80||cart.shop.svc.cluster.local',
    ]);
  });

  it('stays while nothing changes, even when the model is built again on the last, and goes when the Service comes', () => {
    const inputs = inputsOf('./cart, other/billing');
    const first = buildModel(inputs);
    expect(flat(warnings(first)).map((d) => d.message)).toEqual([expect.stringMatching(/^names Service other\/billing, which does not exist/)]);
    // The very same inputs: every step, this one too, takes what it made and reported last time.
    const again = buildModel(inputs, undefined, first);
    expect(flat(warnings(again))).toEqual(flat(warnings(first)));
    const added = buildModel(inputsOf('./cart, other/billing', svc('other', 'billing', '10.96.0.22')), undefined, again);
    expect(warnings(added)).toEqual([]);
    expect(outbound(names(translateSidecar(added, SCOPED), 'cluster'))).toContain('outbound|80||billing.other.svc.cluster.local');
  });
});

describe('a scoped sidecar', () => {
  it('receives the services it reaches, and the backends their policies route to', () => {
    const t = translateSidecar(model('./cart'), SCOPED);
    expect(outbound(names(t, 'cluster'))).toEqual(['outbound|80||cart-next.shop.svc.cluster.local', 'outbound|80||cart.shop.svc.cluster.local']);
    expect(names(t, 'cluster')).toContain('PassthroughCluster');
    expect(names(t, 'endpoint')).toEqual(['outbound|80||cart-next.shop.svc.cluster.local', 'outbound|80||cart.shop.svc.cluster.local']);
    expect(names(t, 'listener')).toEqual(['0.0.0.0_80', 'virtualInbound', 'virtualOutbound']);
    const hosts = t.resources.route.flatMap((r) => (r.message.virtual_hosts ?? []).map((h) => h.name));
    expect(hosts).toEqual(['allow_any', 'cart-next.shop.svc.cluster.local:80', 'cart.shop.svc.cluster.local:80']);
    expect(t.diagnostics).toEqual([]);
  });

  it('gets a namespace with /*, and a TCP service its listener', () => {
    const t = translateSidecar(model('other/*, shop/db'), SCOPED);
    expect(outbound(names(t, 'cluster'))).toEqual([
      'outbound|5432||db.shop.svc.cluster.local',
      'outbound|80||api.other.svc.cluster.local',
      'outbound|80||auth.other.svc.cluster.local',
    ]);
    expect(names(t, 'listener')).toEqual(['0.0.0.0_80', '10.96.0.12_5432', 'virtualInbound', 'virtualOutbound']);
  });

  it('with an empty reach receives only what passes traffic through', () => {
    const t = translateSidecar(model(''), SCOPED);
    expect(outbound(names(t, 'cluster'))).toEqual([]);
    expect(names(t, 'listener')).toEqual(['virtualInbound', 'virtualOutbound']);
    expect(names(t, 'route')).toEqual([]);
  });

  it('is handed the very objects an unscoped sidecar gets, and its own lists again when nothing it reaches changed', () => {
    const m = model('./cart');
    const scoped = translateSidecar(m, SCOPED);
    const all = translateSidecar(m, UNSCOPED);
    for (const kind of ['cluster', 'endpoint'] as const) {
      for (const r of scoped.resources[kind].filter((x) => x.name.startsWith('outbound|'))) {
        expect(all.resources[kind].find((x) => x.name === r.name)).toBe(r);
      }
    }
    const next = buildModel(inputsOf('./cart', svc('other', 'billing', '10.96.0.30')), undefined, m);
    const again = translateSidecar(next, SCOPED);
    expect(again.resources.cluster).toBe(scoped.resources.cluster);
    expect(again.resources.endpoint).toBe(scoped.resources.endpoint);
    expect(again.resources.listener).toBe(scoped.resources.listener);
    expect(again.resources.route).toBe(scoped.resources.route);
    expect(translateSidecar(next, UNSCOPED).resources.cluster).not.toBe(all.resources.cluster);
  });

  it('follows its pod: a new reach is a new configuration', () => {
    expect(outbound(names(translateSidecar(model('./db'), SCOPED), 'cluster'))).toEqual(['outbound|5432||db.shop.svc.cluster.local']);
    expect(outbound(names(translateSidecar(model('./web'), SCOPED), 'cluster'))).toEqual(['outbound|80||web.shop.svc.cluster.local']);
  });
});
