import { describe, expect, it } from 'vitest';
import { parseManifests, type ManifestFile, type ManifestResult } from '../../src/sources/manifests/index.ts';
import { formatRef } from '../../src/diagnostics.ts';
import { manifestView } from '../support/diagnostics.ts';

const service = (name: string, port: number): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { ports: [{ port: ${port} }] }\n`;
const pod = (name: string): string => `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: shop }\nspec: {}\n`;
const docs = (...d: string[]): string => d.join('---\n');

/** Parses a sequence of versions of the directory, each against the state of the one before. */
function versions(...dirs: ManifestFile[][]): ManifestResult[] {
  const out: ManifestResult[] = [];
  for (const files of dirs) out.push(parseManifests(files, out.at(-1)?.state));
  return out;
}

const ports = (r: ManifestResult | undefined): [string, number | undefined, string | undefined][] =>
  (r?.inputs.services ?? []).map((s) => [s.object.metadata.name, s.object.spec.ports[0]?.port, s.origin.file]);
const pods = (r: ManifestResult | undefined): string[] => (r?.inputs.pods ?? []).map((p) => p.object.metadata.name);

const old = manifestView;

describe('parseManifests: the last good version of an object', () => {
  it('keeps serving an object that turns invalid, takes it again once valid, and drops it when removed', () => {
    const [good, broken, fixed, removed] = versions(
      [{ path: 'web.yaml', text: docs(pod('p'), service('web', 80)) }],
      [{ path: 'web.yaml', text: docs(pod('p'), service('web', 70000)) }],
      [{ path: 'web.yaml', text: docs(pod('p'), service('web', 81)) }],
      [{ path: 'web.yaml', text: pod('p') }],
    );
    expect(ports(good)).toEqual([['web', 80, 'web.yaml']]);
    expect(ports(broken)).toEqual([['web', 80, 'web.yaml']]);
    expect(old(broken?.errors)).toEqual([
      {
        file: 'web.yaml',
        document: 1,
        line: 9,
        column: 19,
        object: 'Service shop/web',
        field: 'spec.ports[0].port',
        message: 'Too big: expected number to be <=65535',
      },
    ]);
    expect(old(broken?.warnings)).toEqual([
      { file: 'web.yaml', document: 1, line: 6, column: 1, object: 'Service shop/web', message: 'kept serving the last good version (from web.yaml#2)' },
    ]);
    expect(ports(fixed)).toEqual([['web', 81, 'web.yaml']]);
    expect(old(fixed?.errors)).toEqual([]);
    expect(ports(removed)).toEqual([]);
    expect(pods(removed)).toEqual(['p']);
  });

  it('does not invent an object that was never valid', () => {
    const [, broken] = versions([], [{ path: 'web.yaml', text: service('web', 0) }]);
    expect(ports(broken)).toEqual([]);
    expect(old(broken?.warnings)).toEqual([]);
  });

  it('keeps every object of a file that stops parsing, for as long as it does not parse', () => {
    const file = (text: string): ManifestFile[] => [{ path: 'web.yaml', text }];
    const [, broken, stillBroken, fixed] = versions(
      file(docs(service('web', 80), pod('p'))),
      file(docs(service('web', 81), pod('p'), 'spec: [oops\n')),
      file('{ not yaml'),
      file(service('web', 82)),
    );
    for (const r of [broken, stillBroken]) {
      expect(ports(r)).toEqual([['web', 80, 'web.yaml']]);
      expect(pods(r)).toEqual(['p']);
      expect(r?.errors).toHaveLength(1);
      expect(r?.errors[0]?.message).toMatch(/^not valid YAML: /);
      expect(r?.warnings.map((w) => w.object && formatRef(w.object))).toEqual(['Service shop/web', 'Pod shop/p']);
    }
    expect(ports(fixed)).toEqual([['web', 82, 'web.yaml']]);
    expect(pods(fixed)).toEqual([]);
  });

  it('keeps the objects of a file with a document too broken to name its object', () => {
    const [, broken] = versions(
      [{ path: 'web.yaml', text: docs(pod('p'), service('web', 80)) }],
      [{ path: 'web.yaml', text: docs(pod('p'), service('web', 80).replace('kind: Service\n', '')) }],
    );
    expect(old(broken?.errors)).toEqual([{ file: 'web.yaml', document: 1, line: 6, column: 1, field: 'kind', message: 'required' }]);
    expect(ports(broken)).toEqual([['web', 80, 'web.yaml']]);
    expect(pods(broken)).toEqual(['p']);
  });

  it('drops the objects of a broken file once it is deleted', () => {
    const [, , deleted] = versions([{ path: 'web.yaml', text: service('web', 80) }], [{ path: 'web.yaml', text: '{ not yaml' }], []);
    expect(ports(deleted)).toEqual([]);
    expect(deleted?.errors).toEqual([]);
  });

  it('prefers an object moved to another file over the stale copy of a broken file', () => {
    const [, moved] = versions(
      [{ path: 'b.yaml', text: service('web', 80) }],
      [
        { path: 'a.yaml', text: service('web', 81) },
        { path: 'b.yaml', text: '{ not yaml' },
      ],
    );
    expect(ports(moved)).toEqual([['web', 81, 'a.yaml']]);
    expect(moved?.errors.map((e) => e.origin?.file)).toEqual(['b.yaml']);
  });
});
