/**
 * Golden injection cases: testdata/<case>.in.yaml (an options document, then a Pod or workload) →
 * <case>.out.yaml (the injected object as `trellis inject` prints it; a Pod left alone is preceded by
 * the reason). Every output passes the Kubernetes schema of its kind, parses back to the object, and
 * comes back unchanged when injected again; the input is never mutated (it is frozen). The bootstrap
 * given to Envoy (--config-yaml) is an Envoy Bootstrap by Envoy's own field and validation rules.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { injectedYaml, injectObject } from '../../src/inject/index.ts';
import { bootstrapMessage } from '../bootstrap/message.ts';
import { caseNames, checkOutput, frozen, loadCase, orphanOutputs, proxyBootstraps, schemaErrors } from './support.ts';

function outcome(result: ReturnType<typeof injectObject>): unknown {
  if (result.kind === 'refused') return { refused: result.message };
  return result.kind === 'passed' ? result.object : result.pod;
}

describe('injection golden cases', () => {
  it.each(caseNames())('%s', (name) => {
    const c = loadCase(name);
    const result = injectObject(frozen(c.object), c.namespaceLabels, c.settings);
    if (result.kind === 'refused') throw new Error(`${name}: refused: ${result.message}`);
    const object = outcome(result);
    const text = injectedYaml(object);
    checkOutput(name, result.kind === 'skipped' ? `# ${result.reason}\n${text}` : text);
    if (result.kind === 'skipped') expect(object).toEqual(c.object);
    expect(parse(text)).toEqual(object);
    expect(schemaErrors(object)).toEqual([]);
    expect(outcome(injectObject(frozen(object), c.namespaceLabels, c.settings))).toEqual(object);
    for (const bootstrap of proxyBootstraps(object)) {
      const message = bootstrapMessage(bootstrap);
      expect(checkFields('envoy.config.bootstrap.v3.Bootstrap', message)).toEqual([]);
      expect(validateMessage('envoy.config.bootstrap.v3.Bootstrap', message)).toEqual([]);
    }
    expect(proxyBootstraps(object).length).toBe(result.kind === 'injected' ? 1 : 0);
  });

  it('finds unknown fields (the schema validators let them through), so the check above can fail', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labelz: {} }, spec: { containers: [{ name: 'a', image: 'x', bogus: 1 }] } };
    expect(schemaErrors(pod)).toEqual(['unknown field .metadata.labelz', 'unknown field .spec.containers[0].bogus']);
    expect(schemaErrors({ ...pod, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 'http' }] }] } })[0]).toContain('containerPort');
  });

  it('has an input for every output', () => {
    expect(orphanOutputs(), 'orphaned golden files (remove them, or run UPDATE_GOLDEN=1)').toEqual([]);
  });
});
