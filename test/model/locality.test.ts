/**
 * Endpoint localities from Nodes (src/model/endpoints.ts): the region from the node's
 * topology.kubernetes.io/region label, the zone from the EndpointSlice, else from the node's zone
 * label; an endpoint on an unknown node (or none) as before, with no region. And the Node itself as
 * an input: only its name and those two labels are kept, read from manifests as a cluster-scoped kind.
 */
import { describe, expect, it } from 'vitest';
import { objectStatuses } from '../support/diagnostics.ts';
import { buildModel } from '../../src/model/build.ts';
import { localityOf, nodeLocalities } from '../../src/model/endpoints.ts';
import { nodeSchema, type MeshInputs } from '../../src/model/inputs.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';

const REGION = 'topology.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';

function node(name: string, labels: Record<string, string>): MeshInputs['nodes'][number] {
  return { object: nodeSchema.parse({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } }), origin: {} };
}

const NODES = nodeLocalities([
  node('both', { [REGION]: 'eu-west-1', [ZONE]: 'eu-west-1a' }),
  node('region-only', { [REGION]: 'eu-central-1' }),
  node('zone-only', { [ZONE]: 'eu-west-1c' }),
  node('bare', { 'kubernetes.io/hostname': 'bare' }),
]);

describe('the locality of an endpoint', () => {
  it.each<[string, { nodeName?: string; zone?: string }, [string, string]]>([
    ['region from the node, zone from the slice', { nodeName: 'both', zone: 'eu-west-1a' }, ['eu-west-1', 'eu-west-1a']],
    ['the slice’s zone wins over the node’s label', { nodeName: 'both', zone: 'eu-west-1b' }, ['eu-west-1', 'eu-west-1b']],
    ['zone from the node when the slice has none', { nodeName: 'both' }, ['eu-west-1', 'eu-west-1a']],
    ['a node with a region and no zone label', { nodeName: 'region-only', zone: 'eu-central-1a' }, ['eu-central-1', 'eu-central-1a']],
    ['a node with a zone and no region label', { nodeName: 'zone-only' }, ['', 'eu-west-1c']],
    ['a node without topology labels', { nodeName: 'bare', zone: 'z' }, ['', 'z']],
    ['a node that is not known: as the slice says', { nodeName: 'gone', zone: 'eu-west-1a' }, ['', 'eu-west-1a']],
    ['no node named: as the slice says', { zone: 'eu-west-1a' }, ['', 'eu-west-1a']],
    ['nothing known', {}, ['', '']],
  ])('%s', (_title, ep, [region, zone]) => {
    expect(localityOf(ep, NODES)).toEqual({ region, zone, subZone: '' });
  });

  it('reads no locality of an endpoint from a node of the same name when there are no nodes', () => {
    expect(localityOf({ nodeName: 'both', zone: 'z' }, nodeLocalities([]))).toEqual({ region: '', zone: 'z', subZone: '' });
  });
});

describe('Node inputs', () => {
  it('keep only the name, the resourceVersion and the region and zone labels', () => {
    const parsed = nodeSchema.parse({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'u', resourceVersion: '7', labels: { [REGION]: 'r', [ZONE]: 'z', 'kubernetes.io/os': 'linux' }, annotations: { a: 'b' } },
      spec: { podCIDR: '10.244.1.0/24' },
      status: { images: [{ names: ['x'] }] },
    });
    expect(parsed).toEqual({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '7', labels: { [REGION]: 'r', [ZONE]: 'z' } } });
  });

  it('are read from manifests as a cluster-scoped kind, and give the endpoints on them their region', () => {
    const text = `
apiVersion: v1
kind: Node
metadata: { name: node-b, namespace: ignored, labels: { ${REGION}: eu-central-1, ${ZONE}: eu-central-1a } }
---
apiVersion: v1
kind: Node
metadata: { name: node-a, labels: { ${REGION}: eu-west-1 } }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.10, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints:
  - { addresses: [10.0.0.1], nodeName: node-a, zone: eu-west-1a }
  - { addresses: [10.0.0.2], nodeName: node-b }
  - { addresses: [10.0.0.3], nodeName: node-c, zone: eu-west-1b }
  - { addresses: [10.0.0.4] }
`;
    const parsed = parseManifests([{ path: 'mesh.yaml', text }]);
    expect({ errors: parsed.errors, warnings: parsed.warnings }).toEqual({ errors: [], warnings: [] });
    expect(parsed.inputs.nodes.map((n) => n.object.metadata.name)).toEqual(['node-a', 'node-b']);
    const model = buildModel(parsed.inputs);
    expect(model.services[0]?.ports[0]?.endpoints.map((e) => [e.address, e.locality.region, e.locality.zone])).toEqual([
      ['10.0.0.1', 'eu-west-1', 'eu-west-1a'],
      ['10.0.0.2', 'eu-central-1', 'eu-central-1a'],
      ['10.0.0.3', '', 'eu-west-1b'],
      ['10.0.0.4', '', ''],
    ]);
    expect(objectStatuses(model.diagnostics)).toEqual([]);
  });
});
