/**
 * The layering rules of `.dependency-cruiser.cjs` (what `npm run lint` runs on src/) each catch what they
 * are for: a tiny tree shaped like src/ under test/fixtures/layering breaks every rule once.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = join(ROOT, 'test/fixtures/layering');

let ruleNames: string[] = [];
let result: ICruiseResult;

beforeAll(async () => {
  const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
  ruleNames = (options.ruleSet?.forbidden ?? []).map((rule) => rule.name ?? '');
  const output = await cruise(['src'], { ...options, baseDir: FIXTURE }, undefined, {
    tsConfig: extractTSConfig(join(ROOT, 'tsconfig.json')),
  });
  if (typeof output.output === 'string') throw new Error('expected a cruise result, got a report');
  result = output.output;
});

describe('the dependency-cruiser rules', () => {
  it('report every back-edge, cycle and leak of the fixture, and nothing else', () => {
    const found = new Set(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
    expect([...found].sort()).toEqual([
      'diagnostics-is-a-leaf: src/diagnostics.ts → src/model/types.ts',
      'envoy-is-a-leaf: src/envoy/codec.ts → src/model/types.ts',
      'model-policy-not-to-translate: src/model/types.ts → src/translate/listeners.ts',
      'no-circular: src/translate/listeners.ts → src/xds/cache.ts',
      'no-stage-cycle: src/translate → src/xds',
      'no-stage-cycle: src/xds → src/translate',
      'not-to-unresolvable: src/policy/merge.ts → ./missing.js',
      'pure-stages-not-to-edges: src/policy/status.ts → src/cli/print.ts',
      'pure-stages-not-to-edges: src/translate/listeners.ts → src/xds/cache.ts',
      'src-not-to-test: src/policy/schema.ts → test/support.ts',
    ]);
    expect(result.summary.error).toBe(result.summary.violations.length);
  });

  it('each can fail: every rule in the configuration is broken by the fixture', () => {
    expect(ruleNames.length).toBeGreaterThan(0);
    expect(new Set(result.summary.violations.map((v) => v.rule.name))).toEqual(new Set(ruleNames));
  });
});
