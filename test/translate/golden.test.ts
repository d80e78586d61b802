/**
 * Golden tests across the pipeline: manifests → model (with every problem) → the resources of each
 * proxy the case names. A case is test/translate/golden/<case>/input.yaml; its first document, of
 * kind GoldenCase, lists the proxies to render:
 *
 *   apiVersion: golden.trellis.dev/v1
 *   kind: GoldenCase
 *   proxies:
 *     - { id: web-1.shop, mode: sidecar }
 *     - { id: client.shop, mode: proxyless }
 *     - { id: near.shop, mode: proxyless, locality: { region: eu, zone: eu-a, subZone: rack-1 } }
 *
 * A proxy's `locality` (every part optional) is its node.locality, as its bootstrap would set it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.ts';
import { formatDiagnostic, formatRef, sortDiagnostics, type Diagnostic } from '../../src/diagnostics.ts';
import { manifestProblems, parseManifests } from '../../src/sources/manifests/index.ts';
import { PUSH_ORDER, SHORT_NAME } from '../../src/envoy/types.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import type { NodeInfo } from '../../src/envoy/node.ts';
import { renderKind } from '../../src/translate/render.ts';
import { translate } from '../../src/translate/translate.ts';
import { checkGolden, goldenCases } from '../support/golden.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const INPUT = 'input.yaml';

interface GoldenProxy {
  id: string;
  mode: 'sidecar' | 'proxyless';
  locality?: { region?: string; zone?: string; subZone?: string };
}

interface CaseOptions {
  proxies: GoldenProxy[];
}

/** The node a golden proxy connects as. */
function nodeOf(p: GoldenProxy): NodeInfo {
  const l = p.locality;
  return {
    id: p.id,
    cluster: '',
    metadata: { PROXY_MODE: p.mode },
    userAgent: '',
    ...(l ? { locality: { region: l.region, zone: l.zone, sub_zone: l.subZone } } : {}),
  };
}

function optionsOf(text: string): CaseOptions {
  const first = parseAllDocuments(text)[0]?.toJS() as { kind?: string; proxies?: CaseOptions['proxies'] } | undefined;
  if (first?.kind !== 'GoldenCase') throw new Error(`${INPUT}: the first document must be a GoldenCase`);
  return { proxies: first.proxies ?? [] };
}

function outputsOf(text: string): Map<string, string> {
  const options = optionsOf(text);
  const parsed = parseManifests([{ path: INPUT, text }]);
  const model = buildModel(parsed.inputs);
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
    const model = buildModel(parseManifests([{ path: INPUT, text }]).inputs);
    const known = new Set(model.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.object ? formatRef(d.object) : ''}|${d.field ?? ''}`));
    for (const p of optionsOf(text).proxies) {
      const errors = translate(model, describeNode(nodeOf(p))).diagnostics.filter((d) => d.severity === 'error');
      expect(errors.filter((e) => !known.has(`${e.object ? formatRef(e.object) : ''}|${e.field ?? ''}`)).map(formatDiagnostic), p.id).toEqual([]);
    }
  });
});
