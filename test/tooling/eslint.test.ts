/**
 * The type-aware lint rules of eslint.config.js (what `npm run lint` runs on src/ and test/) catch what they
 * are for: in test/fixtures/eslint/promises.ts a comment `// expect: <rule>` marks the next line as one that must be reported.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = 'test/fixtures/eslint/promises.ts';

function expected(): string[] {
  const lines = readFileSync(join(ROOT, FIXTURE), 'utf8').split('\n');
  return lines.flatMap((line, i) => {
    const rule = /^\s*\/\/ expect: (\S+)$/.exec(line)?.[1];
    return rule === undefined ? [] : [`${i + 2} ${rule}`];
  });
}

describe('the lint rules', () => {
  it('report a floating promise, a misused one and non-exhaustive switches, and nothing else', async () => {
    // ignore: false lints the fixture although the repository's configuration ignores test/fixtures.
    const [result] = await new ESLint({ cwd: ROOT, ignore: false }).lintFiles([FIXTURE]);
    const found = (result?.messages ?? []).map((m) => `${m.line} ${m.ruleId ?? m.message}`);
    expect(expected()).toHaveLength(4);
    expect(found).toEqual(expected());
  });
});
