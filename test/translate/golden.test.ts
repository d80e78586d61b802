/**
 * Golden tests across the pipeline: manifests → model (with every problem) → the resources of each
 * proxy the case names. A case is test/translate/golden/<case>/input.yaml; its first document, of
 * kind GoldenCase, holds the case's options: the proxies to render and whether workload
 * certificates are on (golden-case.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.ts';
import { formatDiagnostic, formatRef, sortDiagnostics, type Diagnostic } from '../../src/diagnostics.ts';
import { manifestProblems, parseManifests } from '../../src/sources/manifests/index.ts';
import { PUSH_ORDER, SHORT_NAME } from '../../src/envoy/types.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import { renderKind } from '../../src/translate/render.ts';
import { translate } from '../../src/translate/translate.ts';
import { checkGolden, goldenCases } from '../support/golden.ts';
import { INPUT, nodeOf, optionsOf } from './golden-case.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');

function outputsOf(text: string): Map<string, string> {
  const options = optionsOf(text);
  const parsed = parseManifests([{ path: INPUT, text }]);
  const model = buildModel(parsed.inputs, options.model);
  const { GoldenCase: _options, ...skipped } = parsed.skipped;
  const problems: Diagnostic[] = [...manifestProblems({ ...parsed, skipped }), ...model.diagnostics];
  const outputs = new Map<string, string>();
  outputs.set(
    'model.yaml',
    stringify(
      {
        problems: sortDiagnostics(problems).map(formatDiagnostic),
        services: model.services,
        workloads: model.workloads,
        ...(model.policies.length > 0 ? { policies: model.policies } : {}),
      },
      { lineWidth: 0, aliasDuplicateObjects: false },
    ),
  );
  for (const p of options.proxies) {
    const translation = translate(model, describeNode(nodeOf(p)));
    const errors = translation.diagnostics.map(
      (e) => `${e.severity === 'warning' ? 'warning: ' : ''}${e.object ? formatRef(e.object) : ''}${e.field ? `: ${e.field}` : ''}: ${e.message}`,
    );
    if (errors.length > 0) outputs.set(`${p.id}.${p.mode}/errors.txt`, `${errors.join('\n')}\n`);
    for (const kind of PUSH_ORDER) {
      if (translation.resources[kind].length === 0) continue;
      outputs.set(`${p.id}.${p.mode}/${SHORT_NAME[kind].toLowerCase()}.yaml`, renderKind(translation, kind));
    }
  }
  return outputs;
}

describe('golden: manifests → model → resources', () => {
  it.each(goldenCases(ROOT))('%s', (name) => {
    const dir = join(ROOT, name);
    checkGolden(dir, outputsOf(readFileSync(join(dir, INPUT), 'utf8')), [INPUT]);
  });
});

describe('golden: the model finds first whatever translation finds wrong', () => {
  it.each(goldenCases(ROOT))('%s: every translation error is already a model error on the same object and field', (name) => {
    const text = readFileSync(join(ROOT, name, INPUT), 'utf8');
    const model = buildModel(parseManifests([{ path: INPUT, text }]).inputs, optionsOf(text).model);
    const known = new Set(model.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.object ? formatRef(d.object) : ''}|${d.field ?? ''}`));
    for (const p of optionsOf(text).proxies) {
      const errors = translate(model, describeNode(nodeOf(p))).diagnostics.filter((d) => d.severity === 'error');
      expect(errors.filter((e) => !known.has(`${e.object ? formatRef(e.object) : ''}|${e.field ?? ''}`)).map(formatDiagnostic), p.id).toEqual([]);
    }
  });
});
