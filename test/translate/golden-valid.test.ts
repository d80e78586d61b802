/**
 * Every resource of every golden case, sidecar and proxyless, is one Envoy would accept: every field
 * exists (checkFields) and every protoc-gen-validate rule of Envoy's API holds (validateMessage),
 * inside packed Anys too. This is how features no gRPC client implements (rate limiting, mirroring,
 * rewrites, access logs, tracing) are checked beyond their golden files, without an Envoy binary.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import { messageNameOf, PUSH_ORDER, TypeUrl } from '../../src/envoy/types.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { buildModel } from '../../src/model/build.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import { goldenCases } from '../support/golden.ts';
import { INPUT, nodeOf, optionsOf } from './golden-case.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');

const cases = goldenCases(ROOT).flatMap((name) => {
  const text = readFileSync(join(ROOT, name, INPUT), 'utf8');
  return optionsOf(text).proxies.map((p) => [`${name}: ${p.id} (${p.mode})`, text, p] as const);
});

describe('golden resources follow Envoy’s rules', () => {
  it.each(cases)('%s', (_name, text, p) => {
    const model = buildModel(parseManifests([{ path: INPUT, text }]).inputs, optionsOf(text).model);
    const translation = translate(model, describeNode(nodeOf(p)));
    const issues = PUSH_ORDER.flatMap((kind) =>
      translation.resources[kind].flatMap((r) => {
        const type = messageNameOf(TypeUrl[kind]);
        return [...checkFields(type, r.message), ...validateMessage(type, r.message)].map((i) => `${kind} ${r.name}: ${i.field}: ${i.message}`);
      }),
    );
    expect(issues).toEqual([]);
  });
});
