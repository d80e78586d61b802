/**
 * The one shape of a problem, from every stage: a manifest that does not parse, an object that fails
 * validation, a reference that does not resolve, a translation that leaves something out, a resource
 * Envoy's rules refuse. What `trellis validate` prints, what /debug/configz lists, what the logs and
 * the object's status carry.
 *
 * A leaf module: it imports nothing, so every layer (envoy included) may use it.
 */

/** An error makes the object (or the part of it) rejected; a warning changes nothing that was asked. */
export type Severity = 'error' | 'warning';

/** A Kubernetes object, by kind and name; `namespace` is absent for cluster-scoped kinds (Node, Namespace). */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Where an object came from, when it came from a manifest file. */
export interface Origin {
  /** Relative to the manifests directory. */
  readonly file?: string;
  /** 0-based index of the YAML document in the file. */
  readonly document?: number;
  /** 1-based line and column of the document (or of the field, on a diagnostic), when known. */
  readonly line?: number;
  readonly column?: number;
}

export interface Diagnostic {
  /** Required: a missing severity never means error. */
  readonly severity: Severity;
  /** The object the problem is about, when it is about one. */
  readonly object?: ObjectRef;
  /** Path inside the object, e.g. `spec.ports[1].targetPort`. */
  readonly field?: string;
  readonly origin?: Origin;
  readonly message: string;
}

/** A diagnostic, without the keys that are not given (so that it prints and compares cleanly). */
export function diagnostic(severity: Severity, object: ObjectRef | undefined, field: string | undefined, message: string, origin?: Origin): Diagnostic {
  return {
    severity,
    ...(object ? { object } : {}),
    ...(field ? { field } : {}),
    ...(origin && Object.keys(origin).length > 0 ? { origin } : {}),
    message,
  };
}

/** Collects diagnostics about objects, as a stage finds them. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];

  error(object: ObjectRef | undefined, origin: Origin | undefined, field: string | undefined, message: string): void {
    this.list.push(diagnostic('error', object, field, message, origin));
  }

  warn(object: ObjectRef | undefined, origin: Origin | undefined, field: string | undefined, message: string): void {
    this.list.push(diagnostic('warning', object, field, message, origin));
  }

  add(...items: readonly Diagnostic[]): void {
    this.list.push(...items);
  }
}

/** A reference to the object `kind` with this metadata. */
export function refOf(kind: string, meta: { readonly name: string; readonly namespace?: string | undefined }): ObjectRef {
  return meta.namespace ? { kind, namespace: meta.namespace, name: meta.name } : { kind, name: meta.name };
}

/** `Service default/web`, `Node node-a`: how people (and map keys) name an object. */
export function formatRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** Order of references: by kind, namespace, name. */
export function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return compareText(formatRef(a), formatRef(b));
}

/** Sorted by kind, namespace and name, without duplicates. */
export function sortedRefs(refs: Iterable<ObjectRef>): ObjectRef[] {
  const unique = new Map<string, ObjectRef>();
  for (const r of refs) unique.set(formatRef(r), r);
  // compareRefs's order, each reference formatted once.
  return [...unique.entries()].sort(([a], [b]) => compareText(a, b)).map(([, r]) => r);
}

export function sameRef(a: ObjectRef, b: ObjectRef): boolean {
  return a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
}

/** Code-unit order, the same on every machine (unlike localeCompare). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `web.yaml#2:14:3`: documents numbered from 1, then line and column when known. */
export function formatOrigin(origin: Origin): string {
  if (origin.file === undefined) return '';
  const doc = origin.document === undefined ? '' : `#${origin.document + 1}`;
  const line = origin.line === undefined ? '' : `:${origin.line}${origin.column === undefined ? '' : `:${origin.column}`}`;
  return `${origin.file}${doc}${line}`;
}

/** `web.yaml#2:14:3 Service default/web: spec.ports[0].port: must be at most 65535` (a log line's message: its level says the severity). */
export function describeDiagnostic(d: Diagnostic): string {
  const where = d.origin ? formatOrigin(d.origin) : '';
  const what = [d.object ? formatRef(d.object) : undefined, d.field].filter((x): x is string => Boolean(x)).join(': ');
  return `${where ? `${where} ` : ''}${what ? `${what}: ` : ''}${d.message}`;
}

/** `error: web.yaml#2:14:3 Service default/web: spec.ports[0].port: must be at most 65535`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.severity}: ${describeDiagnostic(d)}`;
}

/** Identity of a diagnostic, for de-duplication and "already reported" sets. */
export function diagnosticKey(d: Diagnostic): string {
  return JSON.stringify([d.severity, d.object ? formatRef(d.object) : '', d.field ?? '', d.message, d.origin?.file ?? '', d.origin?.document ?? -1]);
}

/** Errors first, then by file, document, object, field and message; duplicates removed. */
export function sortDiagnostics(list: Iterable<Diagnostic>): Diagnostic[] {
  const key = (d: Diagnostic): string =>
    [
      d.severity === 'error' ? 0 : 1,
      d.origin?.file ?? '~',
      String(d.origin?.document ?? 0).padStart(6, '0'),
      d.object ? formatRef(d.object) : '',
      d.field ?? '',
      d.message,
    ].join('|');
  const unique = new Map<string, Diagnostic>();
  for (const d of list) unique.set(diagnosticKey(d), d);
  return [...unique.values()].sort((a, b) => compareText(key(a), key(b)));
}

export function isError(d: Diagnostic): boolean {
  return d.severity === 'error';
}

/** `{ errors: 2, warnings: 5 }` */
export function countDiagnostics(list: Iterable<Diagnostic>): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of list)
    if (isError(d)) errors++;
    else warnings++;
  return { errors, warnings };
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

/** Joins a field prefix (`items[2]`) and a path inside it (`spec.ports[0]`, `[1]`). */
export function joinField(prefix: string, rest: string): string {
  if (prefix === '' || rest === '') return prefix + rest;
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`;
}
