/**
 * Errors and warnings about manifest files, each pinned to a file, a YAML document and, when the
 * document got that far, an object, a field and the line and column of that field.
 */
import { formatOrigin } from '../../diagnostics.js';

export interface ManifestError {
  /** The file's path relative to the manifests directory. */
  readonly file: string;
  /** The 0-based index of the YAML document in the file, as in `Origin.document`. */
  readonly document: number;
  /** 1-based line and column of the field (or of the object, or of the YAML error), as in `Origin.line` and `.column`. */
  readonly line?: number;
  readonly column?: number;
  /** `objectRef` of the object, e.g. `Service default/web`, once the document names one. */
  readonly object?: string;
  /** Dotted path inside the document, e.g. `spec.ports[0].port` (or `items[2].spec…` in a List). */
  readonly field?: string;
  readonly message: string;
}

/**
 * One line for people: `web.yaml#2:9:9 Service default/web: spec.ports[0].port: Too big: …`.
 * Documents are numbered from 1 here (the first document is `#1`), unlike `ManifestError.document`.
 */
export function formatManifestError(e: ManifestError): string {
  const object = e.object === undefined ? '' : ` ${e.object}`;
  const field = e.field ? `${e.field}: ` : '';
  return `${formatOrigin(e)}${object}: ${field}${e.message}`;
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

export { formatPath } from '../../model/problems.js';

/** Joins a field prefix (`items[2]`) and a path inside it (`spec.ports[0]`, `[1]`). */
export function joinField(prefix: string, rest: string): string {
  if (prefix === '' || rest === '') return prefix + rest;
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`;
}
