/**
 * Golden bootstraps: a case is test/bootstrap/golden/<case>/input.yaml, the options of one pod's
 * bootstrap; beside it the rendered bootstrap, byte for byte (bootstrap.yaml for a sidecar,
 * bootstrap.json for proxyless gRPC).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, it } from 'vitest';
import { renderBootstrap, type BootstrapOptions } from '../../src/bootstrap/render.ts';
import { checkGolden, goldenCases } from '../support/golden.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const INPUT = 'input.yaml';

describe('bootstrap golden cases', () => {
  it.each(goldenCases(ROOT))('%s', (name) => {
    const dir = join(ROOT, name);
    const opts = parse(readFileSync(join(dir, INPUT), 'utf8')) as BootstrapOptions;
    const output = opts.mode === 'sidecar' ? 'bootstrap.yaml' : 'bootstrap.json';
    checkGolden(dir, new Map([[output, renderBootstrap(opts).text]]), [INPUT]);
  });
});
