/**
 * Diagnostics as tests compare them: the object as `Kind namespace/name`, the field and message,
 * and `severity: 'warning'` only on warnings (so a list of errors reads as plain objects).
 */
import { formatRef, type Diagnostic } from '../../src/diagnostics.ts';

export interface FlatDiagnostic {
  object?: string;
  field?: string;
  message: string;
  severity?: 'warning';
}

export function flat(list: readonly Diagnostic[]): FlatDiagnostic[] {
  return list.map((d) => ({
    ...(d.object ? { object: formatRef(d.object) } : {}),
    ...(d.field !== undefined ? { field: d.field } : {}),
    message: d.message,
    ...(d.severity === 'warning' ? { severity: 'warning' as const } : {}),
  }));
}

/** `Service default/web` → its reference. */
export function ref(text: string): { kind: string; namespace?: string; name: string } {
  const [kind = '', rest = ''] = text.split(' ');
  const [a = '', b] = rest.split('/');
  return b === undefined ? { kind, name: a } : { kind, namespace: a, name: b };
}

export interface ObjectStatus {
  object: string;
  origin?: Diagnostic['origin'];
  accepted: boolean;
  errors: { field: string; message: string }[];
  warnings: { field: string; message: string }[];
}

/** Diagnostics grouped by object, sorted by object: what each object has to say, and whether it is accepted (no errors). */
export function objectStatuses(list: readonly Diagnostic[]): ObjectStatus[] {
  const byObject = new Map<string, ObjectStatus>();
  for (const d of list) {
    const object = d.object ? formatRef(d.object) : '';
    const s = byObject.get(object) ?? { object, ...(d.origin ? { origin: d.origin } : {}), accepted: true, errors: [], warnings: [] };
    const entry = { field: d.field ?? '', message: d.message };
    if (d.severity === 'error') {
      s.errors.push(entry);
      s.accepted = false;
    } else s.warnings.push(entry);
    byObject.set(object, s);
  }
  return [...byObject.values()].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}

/** A diagnostic about a manifest, as the manifests tests compare it: file, document, line and column first, the object as text. */
export interface ManifestView {
  file?: string;
  document?: number;
  line?: number;
  column?: number;
  object?: string;
  field?: string;
  message: string;
}

export function manifestView(list: readonly Diagnostic[] | undefined): ManifestView[] {
  return (list ?? []).map((d) => ({
    ...(d.origin?.file !== undefined ? { file: d.origin.file } : {}),
    ...(d.origin?.document !== undefined ? { document: d.origin.document } : {}),
    ...(d.origin?.line !== undefined ? { line: d.origin.line, column: d.origin.column } : {}),
    ...(d.object ? { object: formatRef(d.object) } : {}),
    ...(d.field ? { field: d.field } : {}),
    message: d.message,
  }));
}
