import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, formatRef, refOf } from '../../src/diagnostics.ts';
import type { Input } from '../../src/model/inputs.ts';
import { manifestProblems, parseManifests, readManifestDir, skippedSummary } from '../../src/sources/manifests/index.ts';
import { manifestView, type ManifestView } from '../support/diagnostics.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'manifests');

type Meta = { name: string; namespace?: string };
const refs = (list: readonly Input<{ kind: string; metadata: Meta }>[]): string[] => list.map((i) => formatRef(refOf(i.object.kind, i.object.metadata)));

const old = manifestView;

const service = (name: string, namespace: string, port: number | string): string =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  ports:\n    - port: ${port}\n`;

describe('parseManifests: the fixture mesh', () => {
  it('reads multi-document YAML and JSON into sorted MeshInputs with origins', async () => {
    const result = parseManifests(await readManifestDir(FIXTURES));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    const { namespaces, services, endpointSlices, pods } = result.inputs;
    expect(refs(namespaces)).toEqual(['Namespace billing', 'Namespace shop']);
    expect(refs(services)).toEqual(['Service billing/ledger', 'Service shop/cart', 'Service shop/web']);
    expect(refs(endpointSlices)).toEqual(['EndpointSlice shop/web-abc12']);
    expect(refs(pods)).toEqual(['Pod shop/web-1']);
    expect(namespaces.map((n) => n.origin)).toEqual([
      { file: 'namespaces.yaml', document: 2 },
      { file: 'namespaces.yaml', document: 0 },
    ]);
    expect(services.map((s) => s.origin)).toEqual([
      { file: 'billing.yml', document: 0 },
      { file: 'shop/web.yaml', document: 2 },
      { file: 'shop/web.yaml', document: 0 },
    ]);
    expect(pods[0]?.origin).toEqual({ file: 'shop/web-1.json', document: 0 });
  });

  it('fills in schema defaults and keeps only the fields the schemas admit', () => {
    const { inputs } = parseManifests([
      { path: 's.yaml', text: 'apiVersion: v1\nkind: Service\nmetadata: { name: s, uid: u1, x: 1 }\nspec: { ports: [{ port: 80 }] }\n' },
    ]);
    expect(inputs.services[0]?.object.metadata).toEqual({ name: 's', namespace: 'default', uid: 'u1', labels: {}, annotations: {} });
    expect(inputs.services[0]?.object.spec.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
  });

  it('sorts by namespace then name whatever the order of files and documents', () => {
    const files = [
      { path: 'z.yaml', text: [service('b', 'x', 1), service('a', 'y', 1)].join('---\n') },
      { path: 'a.yaml', text: [service('c', 'x', 1), service('a', 'x', 1)].join('---\n') },
    ];
    const forward = parseManifests(files).inputs;
    expect(refs(forward.services)).toEqual(['Service x/a', 'Service x/b', 'Service x/c', 'Service y/a']);
    expect(parseManifests([...files].reverse()).inputs).toEqual(forward);
  });
});

const GOOD = { path: 'a-good.yaml', text: service('ok', 'default', 80) };

describe('parseManifests: errors name the file, document, line and column, object and field', () => {
  it.each<[string, string, ManifestView]>([
    [
      'a file that is not YAML',
      `${service('first', 'default', 80)}---\nmetadata: [oops\n`,
      {
        file: 'f.yaml',
        document: 1,
        line: 11,
        column: 1,
        message: 'not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ],
    [
      'duplicate keys',
      'apiVersion: v1\nkind: Pod\nkind: Pod\n',
      { file: 'f.yaml', document: 0, line: 3, column: 1, message: 'not valid YAML: Map keys must be unique' },
    ],
    [
      'a Service with port 70000',
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: n }\n---\n${service('web', 'default', 70000)}`,
      {
        file: 'f.yaml',
        document: 1,
        line: 12,
        column: 7,
        object: 'Service default/web',
        field: 'spec.ports[0].port',
        message: 'Too big: expected number to be <=65535',
      },
    ],
    [
      "an EndpointSlice with addressType 'IPv5'",
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: web-1, namespace: shop }\naddressType: IPv5\n',
      {
        file: 'f.yaml',
        document: 0,
        line: 4,
        column: 1,
        object: 'EndpointSlice shop/web-1',
        field: 'addressType',
        message: 'Invalid option: expected one of "IPv4"|"IPv6"|"FQDN"',
      },
    ],
    [
      'a document without kind',
      '---\napiVersion: v1\nmetadata: { name: web }\n',
      { file: 'f.yaml', document: 0, line: 2, column: 1, field: 'kind', message: 'required' },
    ],
    [
      'a document without apiVersion',
      'kind: Service\nmetadata: { name: web }\n',
      { file: 'f.yaml', document: 0, line: 1, column: 1, field: 'apiVersion', message: 'required' },
    ],
    [
      'a Pod without metadata.name',
      'apiVersion: v1\nkind: Pod\nmetadata: { namespace: shop }\nspec: {}\n',
      { file: 'f.yaml', document: 0, line: 3, column: 1, field: 'metadata.name', message: 'required' },
    ],
    [
      'a document that is not a mapping',
      `${service('first', 'default', 80)}---\n- just\n- a list\n`,
      { file: 'f.yaml', document: 1, line: 10, column: 1, message: 'expected a mapping (a Kubernetes object), found a sequence' },
    ],
    [
      'a label that is not a string',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: { app.kubernetes.io/name: 3 }\nspec: {}\n',
      {
        file: 'f.yaml',
        document: 0,
        line: 5,
        column: 13,
        object: 'Pod default/p',
        field: 'metadata.labels["app.kubernetes.io/name"]',
        message: 'Invalid input: expected string, received number',
      },
    ],
    [
      'a bad item of a List',
      `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: { name: n }\n  - apiVersion: v1\n    kind: Service\n    metadata: { name: web }\n    spec: { ports: [{ port: 0 }] }\n`,
      {
        file: 'f.yaml',
        document: 0,
        line: 10,
        column: 23,
        object: 'Service default/web',
        field: 'items[1].spec.ports[0].port',
        message: 'Too small: expected number to be >=1',
      },
    ],
    [
      'a List whose items are not a sequence',
      'apiVersion: v1\nkind: List\nitems: { a: 1 }\n',
      { file: 'f.yaml', document: 0, line: 3, column: 1, field: 'items', message: 'expected a sequence, found a mapping' },
    ],
  ])('%s', (_name, text, expected) => {
    const result = parseManifests([GOOD, { path: 'f.yaml', text }]);
    expect(old(result.errors)).toEqual([expected]);
    expect(refs(result.inputs.services)).toContain('Service default/ok');
  });

  it('renders one line per error, documents numbered from 1, then line and column', () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata: { name: n }\n---\n${service('web', 'default', 70000)}`;
    const [error] = parseManifests([{ path: 'examples/mesh/web.yaml', text }]).errors;
    expect(error && formatDiagnostic(error)).toBe(
      'error: examples/mesh/web.yaml#2:12:7 Service default/web: spec.ports[0].port: Too big: expected number to be <=65535',
    );
    expect(formatDiagnostic({ severity: 'error', origin: { file: 'bad.yaml', document: 0 }, message: 'not valid YAML: x' })).toBe(
      'error: bad.yaml#1 not valid YAML: x',
    );
    expect(formatDiagnostic({ severity: 'warning', origin: { file: 'f.yaml', document: 3 }, field: 'kind', message: 'required' })).toBe(
      'warning: f.yaml#4 kind: required',
    );
  });

  it('keeps the other documents of a file whose objects are invalid, but none of a file that is not YAML', () => {
    const objects = parseManifests([{ path: 'f.yaml', text: `${service('a', 'd', 80)}---\n${service('b', 'd', 0)}` }]);
    expect(refs(objects.inputs.services)).toEqual(['Service d/a']);
    const syntax = parseManifests([{ path: 'f.yaml', text: `${service('a', 'd', 80)}---\nspec: [\n` }]);
    expect(syntax.inputs.services).toEqual([]);
  });
});

describe('parseManifests: kinds it does not read, Lists and duplicates', () => {
  const object = (apiVersion: string, kind: string, name: string): string =>
    `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: { name: ${name}, namespace: shop }\n`;

  it('counts the objects of kinds it does not read, by kind, and reports them in one line', () => {
    const text = [object('v1', 'ConfigMap', 'a'), object('apps/v1', 'Deployment', 'api'), object('v1', 'ConfigMap', 'b')].join('---\n');
    const result = parseManifests([GOOD, { path: 'd.yaml', text }]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.skipped).toEqual({ ConfigMap: 2, Deployment: 1 });
    expect(manifestProblems(result)).toEqual([
      { severity: 'warning', message: 'skipped 3 objects of kinds Trellis does not read: ConfigMap (2), Deployment (1)' },
    ]);
  });

  it.each([
    [{}, undefined],
    [{ Deployment: 1 }, 'skipped 1 object of a kind Trellis does not read: Deployment (1)'],
    [{ Deployment: 2 }, 'skipped 2 objects of a kind Trellis does not read: Deployment (2)'],
  ])('summarises %j as %j', (skipped, line) => {
    expect(skippedSummary(skipped)).toBe(line);
  });

  it('warns about each object of a kind it reads, from another apiVersion (most likely a mistake)', () => {
    const result = parseManifests([{ path: 'd.yaml', text: object('v1', 'EndpointSlice', 'api') }]);
    expect(result.errors).toEqual([]);
    expect(result.skipped).toEqual({});
    expect(old(result.warnings)).toEqual([
      {
        file: 'd.yaml',
        document: 0,
        line: 1,
        column: 1,
        object: 'EndpointSlice shop/api',
        message: 'skipped: kind v1/EndpointSlice is not read by Trellis (Trellis reads EndpointSlice from apiVersion discovery.k8s.io/v1)',
      },
    ]);
    expect(result.inputs.endpointSlices).toEqual([]);
  });

  it('expands List and typed *List kinds, as kubectl does', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: p, namespace: n }\n    spec: {}\n  - ${JSON.stringify(JSON.parse('{"apiVersion":"v1","kind":"Service","metadata":{"name":"b"},"spec":{}}'))}\n`;
    const typed = JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', items: [{ metadata: { name: 'a' }, spec: {} }] });
    const result = parseManifests([
      { path: 'list.yaml', text: list },
      { path: 'typed.json', text: typed },
    ]);
    expect(result.errors).toEqual([]);
    expect(refs(result.inputs.services)).toEqual(['Service default/a', 'Service default/b']);
    expect(result.inputs.services.map((s) => s.origin)).toEqual([
      { file: 'typed.json', document: 0 },
      { file: 'list.yaml', document: 0 },
    ]);
    expect(refs(result.inputs.pods)).toEqual(['Pod n/p']);
  });

  it('reports a duplicate object on the second by path order; the first wins', () => {
    const files = [
      { path: 'b.yaml', text: service('web', 'shop', 81) },
      { path: 'a.yaml', text: `${service('other', 'shop', 1)}---\n${service('web', 'shop', 80)}` },
    ];
    const result = parseManifests(files);
    expect(old(result.errors)).toEqual([
      {
        file: 'b.yaml',
        document: 0,
        line: 4,
        column: 3,
        object: 'Service shop/web',
        field: 'metadata.name',
        message: 'Service shop/web is already defined in a.yaml#2; this one is ignored',
      },
    ]);
    expect(result.inputs.services.map((s) => [s.object.metadata.name, s.object.spec.ports[0]?.port, s.origin.file])).toEqual([
      ['other', 1, 'a.yaml'],
      ['web', 80, 'a.yaml'],
    ]);
  });

  it('tells objects of the same name apart by kind and namespace', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: web, namespace: shop }\nspec: {}\n';
    const result = parseManifests([{ path: 'a.yaml', text: [service('web', 'shop', 80), service('web', 'other', 80), pod].join('---\n') }]);
    expect(result.errors).toEqual([]);
    expect(refs(result.inputs.services)).toEqual(['Service other/web', 'Service shop/web']);
    expect(refs(result.inputs.pods)).toEqual(['Pod shop/web']);
  });
});
