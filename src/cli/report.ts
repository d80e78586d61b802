/**
 * What `trellis validate` and `trellis render` print for programs (`-o json`). These shapes are part
 * of the command line's interface, documented in the README: change them only by adding fields.
 * Problems are printed as diagnostics (src/diagnostics.ts), the one shape every stage is moving to.
 */
import { countDiagnostics, type Diagnostic, type ObjectRef, type Origin } from '../diagnostics.js';
import { PUSH_ORDER, type ResourceKind } from '../envoy/types.js';
import type { Problem } from '../model/problems.js';
import type { PolicyStatusView } from '../policy/status.js';
import { shownResources, type ShownResource } from '../translate/render.js';
import type { Translation } from '../translate/translation.js';

export interface ValidateJson {
  /** Errors first, then by file, document and object. */
  readonly diagnostics: readonly Diagnostic[];
  /** Each TrafficPolicy's status as the model decides it (no Programmed: nothing is served). */
  readonly policies: readonly PolicyStatusView[];
  readonly counts: { readonly errors: number; readonly warnings: number };
}

export interface RenderJson {
  /** Every resource type, in push order, each list in name order; absent when the manifests have errors. */
  readonly resources?: Readonly<Record<ResourceKind, readonly ShownResource[]>>;
  readonly diagnostics: readonly Diagnostic[];
}

const REF = /^([A-Za-z][A-Za-z0-9]*) (?:([^\s/]+)\/)?([^\s/]+)$/;

/** `Service shop/web` → { kind, namespace, name }; undefined for anything else. */
function parseRef(text: string): ObjectRef | undefined {
  const m = REF.exec(text);
  if (!m?.[1] || !m[3]) return undefined;
  return m[2] ? { kind: m[1], namespace: m[2], name: m[3] } : { kind: m[1], name: m[3] };
}

/**
 * A problem as a diagnostic. An object named otherwise than by one reference (a resource from
 * several objects) stays in the message. Goes once every stage produces diagnostics itself.
 */
export function toDiagnostic(p: Problem): Diagnostic {
  const object = p.object === undefined ? undefined : parseRef(p.object);
  const origin: Origin | undefined =
    p.file === undefined
      ? undefined
      : {
          file: p.file,
          ...(p.document !== undefined ? { document: p.document } : {}),
          ...(p.line !== undefined ? { line: p.line } : {}),
          ...(p.column !== undefined ? { column: p.column } : {}),
        };
  const message = p.object !== undefined && object === undefined ? `${p.object}: ${p.message}` : p.message;
  return { severity: p.severity, ...(object ? { object } : {}), ...(p.field ? { field: p.field } : {}), ...(origin ? { origin } : {}), message };
}

export function validateJson(problems: readonly Problem[], policies: readonly PolicyStatusView[]): ValidateJson {
  const diagnostics = problems.map(toDiagnostic);
  return { diagnostics, policies, counts: countDiagnostics(diagnostics) };
}

export function renderJson(problems: readonly Problem[], translation?: Translation): RenderJson {
  const diagnostics = problems.map(toDiagnostic);
  if (!translation) return { diagnostics };
  const resources = Object.fromEntries(PUSH_ORDER.map((kind) => [kind, shownResources(translation, kind)])) as Record<ResourceKind, ShownResource[]>;
  return { resources, diagnostics };
}

/** JSON as the commands print it: indented, one document, a final newline. */
export function jsonText(value: ValidateJson | RenderJson): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
