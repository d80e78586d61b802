/**
 * What `trellis validate` and `trellis render` print for programs (`-o json`). These shapes are part
 * of the command line's interface, documented in the README: change them only by adding fields.
 * Problems are printed as diagnostics (src/diagnostics.ts), the one shape of a problem in every stage.
 */
import { countDiagnostics, type Diagnostic } from '../diagnostics.js';
import { PUSH_ORDER, type ResourceKind } from '../envoy/types.js';
import type { PolicyStatusView } from '../model/policy-status.js';
import { shownResources, type ShownResource } from '../translate/render.js';
import type { Translation } from '../translate/translation.js';
import { documentText } from './print.js';

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

export function validateJson(diagnostics: readonly Diagnostic[], policies: readonly PolicyStatusView[]): ValidateJson {
  return { diagnostics, policies, counts: countDiagnostics(diagnostics) };
}

export function renderJson(diagnostics: readonly Diagnostic[], translation?: Translation): RenderJson {
  if (!translation) return { diagnostics };
  const resources = Object.fromEntries(PUSH_ORDER.map((kind) => [kind, shownResources(translation, kind)])) as Record<ResourceKind, ShownResource[]>;
  return { resources, diagnostics };
}

/** JSON as the commands print it: indented, one document, a final newline. */
export function jsonText(value: ValidateJson | RenderJson): string {
  return documentText(value, 'json');
}
