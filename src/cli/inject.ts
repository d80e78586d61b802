/**
 * `trellis inject -f FILE`: the objects of a YAML file with Trellis's sidecar injected into their
 * pods, for review in a GitOps repository. The namespace is taken as opted in (you asked to
 * inject); a Pod's own label `trellis.dev/inject: "false"` and hostNetwork still leave it alone,
 * said on standard error. A refused object (a bad annotation) fails the whole file: nothing is
 * printed but the errors, each naming the file, the document, the object and the annotation.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { InjectConfig } from '../config/config.js';
import { DEFAULT_SETTINGS, describeObject, injectedYaml, injectObject, LABEL_INJECT, NAMESPACE_INJECT_VALUE, type InjectSettings } from '../inject/index.js';
import type { CommandIO } from './offline.js';

const OPTED_IN = { [LABEL_INJECT]: NAMESPACE_INJECT_VALUE };

function settingsOf(config: InjectConfig): InjectSettings {
  const { nativeSidecars, envoyImage, trellisImage, secureXds, xdsAddress } = config;
  return { ...DEFAULT_SETTINGS, nativeSidecars, envoyImage, trellisImage, secureXds, xdsAddress };
}

/** Injects every document of the file; 1 (and nothing on standard output) when any is refused or does not parse. */
export async function runInject(config: InjectConfig, io: CommandIO): Promise<number> {
  const name = config.file === '-' ? '(stdin)' : config.file;
  const text = config.file === '-' ? await io.readStdin() : await readFile(config.file, 'utf8');
  const settings = settingsOf(config);
  const out: string[] = [];
  const errors: string[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `${name}: document ${i + 1}`;
    if (doc.errors.length > 0) {
      errors.push(`${where}: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
      return;
    }
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) return;
    const result = injectObject(object, OPTED_IN, settings);
    if (result.kind === 'refused') errors.push(`${where} (${describeObject(object)}): ${result.message}`);
    else if (result.kind === 'passed') out.push(doc.toString({ directives: false }));
    else {
      if (result.kind === 'skipped') io.err(`${where} (${describeObject(object)}): ${result.reason}\n`);
      out.push(injectedYaml(result.pod));
    }
  });
  if (errors.length > 0) {
    io.err(errors.map((e) => `${e}\n`).join(''));
    return 1;
  }
  io.out(out.join('---\n'));
  return 0;
}
