import { stringify } from 'yaml';

/** An injected object as YAML, the bootstrap (a multi-line string) as a literal block, no line folding. */
export function injectedYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, blockQuote: 'literal' });
}
