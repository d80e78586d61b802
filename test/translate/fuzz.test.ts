/**
 * Fuzz, standing: arbitrary manifests through parse → model → translation, as `trellis serve` runs
 * them. The manifests are the golden cases' and the example mesh's objects with some of their fields
 * replaced, removed or added with hostile values, objects of every kind made up from nothing, and
 * YAML text cut and spliced. Whatever comes in: nothing throws, every error names an object or a
 * file, and every resource translation makes is one Envoy's rules accept (a resource they refuse
 * would keep its last good version, holding back whatever else it carries).
 *
 * Seeded and bounded (test/support/fuzz.ts); TRELLIS_FUZZ_RUNS=… for a longer run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, isError, type Diagnostic } from '../../src/diagnostics.ts';
import { buildModel, DEFAULT_MODEL_OPTIONS, type ModelOptions } from '../../src/model/build.ts';
import type { MeshModel } from '../../src/model/types.ts';
import { manifestProblems, parseManifests, type ManifestFile } from '../../src/sources/manifests/index.ts';
import { proxyClassOf, type ProxyDescriptor } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { fuzzParameters, hostileString, hostileValue, LONG_FUZZ } from '../support/fuzz.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return name.endsWith('.yaml') ? [full] : [];
  });
}

type Obj = Record<string, unknown>;

/** Every object of the golden cases and the example mesh: the seeds the mutations start from. */
const CORPUS: readonly Obj[] = [
  ...yamlFiles(join(REPO, 'test/translate/golden')).filter((f) => f.endsWith('input.yaml')),
  ...yamlFiles(join(REPO, 'examples/mesh')),
]
  .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown))
  .filter((o): o is Obj => typeof o === 'object' && o !== null && !Array.isArray(o) && (o as Obj).kind !== 'GoldenCase');

const KINDS: readonly [string, string][] = [
  ['v1', 'Namespace'],
  ['v1', 'Node'],
  ['v1', 'Service'],
  ['discovery.k8s.io/v1', 'EndpointSlice'],
  ['v1', 'Pod'],
  ['trellis.dev/v1alpha1', 'TrafficPolicy'],
  ['v1', 'List'],
  ['v1', 'ConfigMap'],
];

/** Paths to every node of a value (the root included), for the mutations to pick from. */
function pathsOf(value: unknown, prefix: readonly (string | number)[] = []): (readonly (string | number)[])[] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (typeof value === 'object' && value !== null) return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  return here;
}

type Mutation =
  | { op: 'set'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'add'; at: number; key: string; value: unknown }
  | { op: 'rename'; at: number; value: string };

/** Where names are: what a `rename` picks from (names, namespaces, label keys and values, ports by name, zones). */
const NAMED =
  /^(name|namespace|hostname|serviceAccountName|nodeName|zone|region|service|sectionName|targetPort|appProtocol|kubernetes\.io\/service-name|app|version)$/;

/** The value with one node changed; paths are picked by index (modulo the number of nodes, or of named nodes for `rename`). */
function mutate(value: unknown, m: Mutation): unknown {
  const all = pathsOf(value);
  const named = all.filter((p) => NAMED.test(String(p[p.length - 1])));
  const paths = m.op === 'rename' && named.length > 0 ? named : all;
  const path = paths[m.at % paths.length] ?? [];
  const change = (node: unknown, rest: readonly (string | number)[]): unknown => {
    const [head, ...tail] = rest;
    if (head === undefined) {
      if (m.op === 'set' || m.op === 'rename') return m.value;
      if (m.op === 'add' && typeof node === 'object' && node !== null && !Array.isArray(node)) return { ...node, [m.key]: m.value };
      if (m.op === 'add' && Array.isArray(node)) return [...(node as unknown[]), m.value];
      return node;
    }
    if (m.op === 'delete' && tail.length === 0) {
      if (Array.isArray(node)) return (node as unknown[]).filter((_, i) => i !== head);
      if (typeof node === 'object' && node !== null) return Object.fromEntries(Object.entries(node).filter(([k]) => k !== head));
    }
    if (Array.isArray(node)) return (node as unknown[]).map((v, i) => (i === head ? change(v, tail) : v));
    if (typeof node === 'object' && node !== null) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === head ? change(v, tail) : v]));
    return node;
  };
  return change(value, path);
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), value: hostileString }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(hostileString, fc.constantFrom('name', 'port', 'labels', 'spec', 'items')),
    value: hostileValue,
  }),
);

/** A corpus object with a few mutations. */
const mutated: fc.Arbitrary<unknown> = fc
  .tuple(fc.nat({ max: CORPUS.length - 1 }), fc.array(mutation, { maxLength: 4 }))
  .map(([i, ms]) => ms.reduce<unknown>((o, m) => mutate(o, m), CORPUS[i]));

/** An object of a known kind (or a List, or one Trellis does not read), made up from nothing. */
const madeUp: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.constantFrom(...KINDS),
    fc.record({ name: hostileString, namespace: hostileString, labels: fc.dictionary(hostileString, hostileString, { maxKeys: 2 }) }, { requiredKeys: [] }),
    hostileValue,
    fc.array(hostileValue, { maxLength: 2 }),
  )
  .map(([[apiVersion, kind], metadata, spec, items]) => ({
    apiVersion,
    kind,
    metadata,
    spec,
    items,
    ports: spec,
    endpoints: items,
    status: { podIP: '10.9.0.1' },
  }));

/** Files of YAML documents; now and then one whose text is cut or spliced with hostile text. */
const files: fc.Arbitrary<ManifestFile[]> = fc
  .array(
    fc.tuple(
      fc.array(fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: madeUp }), { minLength: 1, maxLength: 8 }),
      fc.option(fc.tuple(fc.nat(), hostileString)),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((list) =>
    list.map(([docs, splice], i) => {
      const text = docs.map((d) => stringify(d, { aliasDuplicateObjects: false })).join('---\n');
      if (!splice) return { path: `f${i}.yaml`, text };
      const at = splice[0] % (text.length + 1);
      return { path: `f${i}.yaml`, text: text.slice(0, at) + splice[1] + text.slice(at + splice[1].length) };
    }),
  );

/** The proxies to translate for: the sidecars of a few workloads, one of no workload, proxyless clients. */
function proxiesOf(model: MeshModel): ProxyDescriptor[] {
  const sidecars = model.workloads.slice(0, 3).map((w): ProxyDescriptor => ({ mode: 'sidecar', namespace: w.namespace, pod: w.name }));
  const namespaces = [...new Set(model.services.map((s) => s.namespace))].slice(0, 2);
  return [
    ...sidecars,
    { mode: 'sidecar', namespace: 'default', pod: 'nobody' },
    ...namespaces.map((namespace): ProxyDescriptor => ({ mode: 'proxyless', namespace })),
    { mode: 'proxyless', namespace: 'default', locality: { region: 'eu', zone: 'eu-a', subZone: '' } },
  ];
}

/** An error that names neither an object nor a file: nobody could find what to fix. */
function anonymous(list: readonly Diagnostic[]): string[] {
  return list.filter((d) => isError(d) && d.object === undefined && d.origin?.file === undefined).map(formatDiagnostic);
}

/**
 * The whole path once: parse (twice, the second time with the first as the last good state), model
 * (without workload certificates, or with them and a default mTLS mode), translation, encoding.
 */
function runPipeline(first: ManifestFile[], second: ManifestFile[], mtls: 'STRICT' | 'PERMISSIVE' | undefined): void {
  const options: ModelOptions = mtls ? { ...DEFAULT_MODEL_OPTIONS, mtls: { enabled: true, defaultMode: mtls } } : DEFAULT_MODEL_OPTIONS;
  const parsed = parseManifests(first);
  const previous = buildModel(parsed.inputs, options);
  const reparsed = parseManifests(second, parsed.state);
  const model = buildModel(reparsed.inputs, options, previous);
  expect(anonymous([...manifestProblems(parsed), ...manifestProblems(reparsed)])).toEqual([]);
  expect(anonymous(model.diagnostics)).toEqual([]);
  JSON.stringify(model); // the IR is plain data
  const cache = new SnapshotCache();
  for (const proxy of proxiesOf(model)) {
    const translation = translate(model, proxy);
    expect(anonymous(translation.diagnostics)).toEqual([]);
    const refused = cache.set(proxyClassOf(proxy), translation.resources);
    expect(refused.map(formatDiagnostic)).toEqual([]);
  }
}

describe('fuzz: arbitrary manifests through parse → model → translation', () => {
  it(
    'throws nothing, names an object or a file in every error, and makes only resources Envoy accepts',
    () => {
      fc.assert(
        fc.property(files, files, fc.constantFrom(undefined, 'STRICT' as const, 'PERMISSIVE' as const), (first, second, mtls) =>
          runPipeline(first, second, mtls),
        ),
        fuzzParameters(150),
      );
    },
    LONG_FUZZ ? 3_600_000 : 30_000,
  );
});
