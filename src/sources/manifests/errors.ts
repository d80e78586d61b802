/**
 * Errors and warnings about manifest files are Diagnostics (src/diagnostics.ts), each pinned to a
 * file and YAML document (its origin) and, when the document got that far, an object, a field and
 * the line and column of that field.
 */
import { diagnostic, type Diagnostic, type ObjectRef, type Severity } from '../../diagnostics.js';

export { formatPath, joinField } from '../../diagnostics.js';

/** A diagnostic about document `document` (0-based) of `file`, at `position` (1-based line and column) when known. */
export function manifestDiagnostic(
  severity: Severity,
  file: string,
  document: number,
  object: ObjectRef | undefined,
  field: string | undefined,
  message: string,
  position?: { readonly line: number; readonly column: number },
): Diagnostic {
  return diagnostic(severity, object, field, message, { file, document, ...(position ? { line: position.line, column: position.column } : {}) });
}

/**
 * One line for every object of a kind Trellis does not read (ConfigMaps, Deployments, ... beside
 * the mesh's own objects are normal, not worth a warning each):
 * `skipped 3 objects of kinds Trellis does not read: ConfigMap (2), Deployment (1)`; none when none.
 */
export function skippedSummary(skipped: Readonly<Record<string, number>>): string | undefined {
  const kinds = Object.entries(skipped);
  const total = kinds.reduce((n, [, count]) => n + count, 0);
  if (total === 0) return undefined;
  const what = total === 1 ? 'object of a kind' : kinds.length === 1 ? 'objects of a kind' : 'objects of kinds';
  return `skipped ${total} ${what} Trellis does not read: ${kinds.map(([kind, count]) => `${kind} (${count})`).join(', ')}`;
}
