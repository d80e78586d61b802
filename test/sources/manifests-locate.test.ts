import { describe, expect, it } from 'vitest';
import { formatPath, type Diagnostic } from '../../src/diagnostics.ts';
import { locateProblems } from '../../src/sources/manifests/index.ts';
import { parseFieldPath } from '../../src/sources/manifests/positions.ts';

const POLICY = 'apiVersion: trellis.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: p, namespace: shop }\nspec:\n  retires:\n    attempts: 3\n';
interface At {
  field?: string;
  file?: string | undefined;
  document?: number;
  line?: number;
  column?: number;
}
/** A problem about document 1 of p.yaml unless said otherwise. */
const problem = (at: At = {}): Diagnostic => {
  const { field, document = 1, line, column } = at;
  const file = 'file' in at ? at.file : 'p.yaml';
  return {
    severity: 'error',
    object: { kind: 'TrafficPolicy', namespace: 'shop', name: 'p' },
    ...(field !== undefined ? { field } : {}),
    ...(file !== undefined ? { origin: { file, document, ...(line !== undefined ? { line, column } : {}) } } : {}),
    message: 'm',
  };
};

describe('locateProblems: line and column for the problems found after parsing', () => {
  const files = [{ path: 'p.yaml', text: `apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\n${POLICY}` }];

  it.each([
    ['a field', 'spec.retires', { line: 9, column: 3 }],
    ['a field that is not there: its nearest part that is', 'spec.timeouts.request', { line: 8, column: 1 }],
    ['no field: the object', undefined, { line: 5, column: 1 }],
  ])('places %s', (_what, field, at) => {
    expect(locateProblems([problem(field === undefined ? {} : { field })], files)).toEqual([problem({ ...(field === undefined ? {} : { field }), ...at })]);
  });

  it('leaves alone problems that have a line, name no file it has, or sit in a List', () => {
    const list = { path: 'l.yaml', text: `apiVersion: v1\nkind: List\nitems:\n  - ${JSON.stringify({ apiVersion: 'v1', kind: 'Pod' })}\n` };
    const untouched = [
      problem({ line: 1, column: 1 }),
      problem({ file: 'other.yaml' }),
      problem({ file: undefined }),
      problem({ file: 'l.yaml', document: 0, field: 'spec' }),
    ];
    expect(locateProblems(untouched, [...files, list])).toEqual(untouched);
  });
});

describe('parseFieldPath', () => {
  it.each([[['spec', 'ports', 0, 'port']], [['metadata', 'labels', 'app.kubernetes.io/name']], [['a', 'b"c', 2, 'd-e']], [[]]])(
    'reads back what formatPath writes: %j',
    (path) => {
      expect(parseFieldPath(formatPath(path))).toEqual(path);
    },
  );

  it('reads as far as it can', () => {
    expect(parseFieldPath('spec.ports[x].port')).toEqual(['spec', 'ports']);
  });
});
