/**
 * Golden capture rulesets: a case is test/capture/golden/<case>/input.yaml, the options of
 * `trellis capture` (defaults filled in); beside it ruleset.rules, the iptables-restore input byte for byte.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, it } from 'vitest';
import { captureRuleset, DEFAULT_CAPTURE_OPTIONS, type CaptureOptions } from '../../src/capture/ruleset.ts';
import { checkGolden, goldenCases } from '../support/golden.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const INPUT = 'input.yaml';

describe('capture golden rulesets', () => {
  it.each(goldenCases(ROOT))('%s', (name) => {
    const dir = join(ROOT, name);
    const options = parse(readFileSync(join(dir, INPUT), 'utf8')) as Partial<CaptureOptions>;
    checkGolden(dir, new Map([['ruleset.rules', captureRuleset({ ...DEFAULT_CAPTURE_OPTIONS, ...options })]]), [INPUT]);
  });
});
