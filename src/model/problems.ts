/**
 * Problems with the configuration, from every stage, in one shape: what `trellis validate` prints,
 * what /debug/configz lists and what the logs carry. Each names the file and document (when the
 * object came from a manifest), the object and the field.
 */
import { formatOrigin } from '../diagnostics.js';
import type { Origin } from './inputs.js';
import type { MeshModel } from './types.js';

export interface Problem {
  readonly severity: 'error' | 'warning';
  readonly file?: string;
  /** 0-based index of the YAML document in the file. */
  readonly document?: number;
  /** 1-based line and column of the field in the file, when known (as `Origin.line` and `.column` in diagnostics.ts). */
  readonly line?: number;
  readonly column?: number;
  /** `Kind namespace/name` */
  readonly object?: string;
  readonly field?: string;
  readonly message: string;
}

/** `web.yaml#2:9:11 Service default/web: spec.ports[0].port: must be at most 65535` (documents from 1). */
export function formatProblem(p: Problem): string {
  const where = p.file === undefined ? '' : `${formatOrigin(p)} `;
  const what = [p.object, p.field].filter((x): x is string => Boolean(x)).join(': ');
  return `${p.severity}: ${where}${what ? `${what}: ` : ''}${p.message}`;
}

function located(origin: Origin | undefined): { file?: string; document?: number } {
  return { ...(origin?.file !== undefined ? { file: origin.file } : {}), ...(origin?.document !== undefined ? { document: origin.document } : {}) };
}

/** The problems buildModel recorded. */
export function modelProblems(model: MeshModel): Problem[] {
  return model.statuses.flatMap((s) => [
    ...s.errors.map((e) => ({ severity: 'error' as const, ...located(s.origin), object: s.object, field: e.field, message: e.message })),
    ...s.warnings.map((e) => ({ severity: 'warning' as const, ...located(s.origin), object: s.object, field: e.field, message: e.message })),
  ]);
}

/** Errors first, then by file, document and object. */
export function sortProblems(list: readonly Problem[]): Problem[] {
  const key = (p: Problem): string => `${p.severity === 'error' ? 0 : 1}|${p.file ?? '~'}|${String(p.document ?? 0).padStart(6, '0')}|${p.object ?? ''}|${p.field ?? ''}`;
  return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Renders a path as `spec.ports[0].port`, quoting keys that are not plain: `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
