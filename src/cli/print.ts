/**
 * How the commands that read a running Trellis print: an aligned table for people (control
 * characters escaped, so a node id or a NACK message cannot forge a row or drive the terminal), or
 * the same data as one JSON or YAML document for programs.
 */
import { stringify } from 'yaml';
import type { OutputFormat } from '../config/debug-client.js';
import { alignColumns } from '../debug/text.js';

/** The cell of an absent value. */
export const NONE = '-';

/** An aligned table, header first, one line per row, a final newline. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${alignColumns([header, ...rows]).join('\n')}\n`;
}

/** `value` as a document in `format` (json or yaml), a final newline. */
export function documentText(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}
