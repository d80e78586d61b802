/**
 * Errors and warnings about manifest files are Diagnostics (src/diagnostics.ts), each pinned to a
 * file and YAML document (its origin) and, when the document got that far, an object and a field.
 */
import { diagnostic, type Diagnostic, type ObjectRef, type Severity } from '../../diagnostics.js';

export { formatPath, joinField } from '../../diagnostics.js';

/** A diagnostic about document `document` (0-based) of `file`. */
export function manifestDiagnostic(severity: Severity, file: string, document: number, object: ObjectRef | undefined, field: string | undefined, message: string): Diagnostic {
  return diagnostic(severity, object, field, message, { file, document });
}
