/**
 * Splits one manifest file into the Kubernetes objects it holds: every YAML document, with
 * `List` kinds expanded as kubectl does. Only the envelope is checked here (a mapping with
 * `apiVersion` and `kind`); validation against the schemas happens in parse.ts.
 */
import { parseAllDocuments } from 'yaml';
import { joinField, type ManifestError } from './errors.js';

/** One object found in a file, not yet validated. */
export interface FoundObject {
  readonly document: number;
  /** Where the object sits in its document: '' at the top, `items[2]` inside a List. */
  readonly at: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly value: Readonly<Record<string, unknown>>;
}

export interface FileContents {
  readonly objects: FoundObject[];
  readonly errors: ManifestError[];
  /** The file is not valid YAML: nothing in it can be trusted, not even the documents that parsed. */
  readonly unparseable: boolean;
}

const MAX_LIST_DEPTH = 4;

function firstLine(message: string): string {
  return message.split('\n')[0]?.replace(/:$/, '') ?? message;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a sequence';
  if (value === null || value === undefined) return 'nothing';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

export function isMapping(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the text into one plain value per YAML document, or the first YAML error. */
function parseYaml(file: string, text: string): unknown[] | ManifestError {
  const docs = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const [document, doc] of docs.entries()) {
    const syntax = doc.errors[0];
    if (syntax) return { file, document, message: `not valid YAML: ${firstLine(syntax.message)}` };
    try {
      values.push(doc.toJS());
    } catch (err) {
      return { file, document, message: `not valid YAML: ${firstLine((err as Error).message)}` };
    }
  }
  return values;
}

export function readDocuments(file: string, text: string): FileContents {
  const values = parseYaml(file, text);
  if (!Array.isArray(values)) return { objects: [], errors: [values], unparseable: true };
  const out: FileContents = { objects: [], errors: [], unparseable: false };
  for (const [document, value] of values.entries()) {
    if (value !== null && value !== undefined) collect(file, document, '', value, out, 0);
  }
  return out;
}

function stringField(value: Readonly<Record<string, unknown>>, key: string): string | { message: string } {
  const v = value[key];
  if (typeof v === 'string' && v !== '') return v;
  return { message: v === undefined || v === '' ? 'required' : `expected a string, found ${describe(v)}` };
}

function collect(file: string, document: number, at: string, value: unknown, out: FileContents, depth: number): void {
  const fail = (field: string, message: string): void => {
    out.errors.push({ file, document, ...(field ? { field } : {}), message });
  };
  if (!isMapping(value)) return fail(at, `expected a mapping (a Kubernetes object), found ${describe(value)}`);
  const apiVersion = stringField(value, 'apiVersion');
  if (typeof apiVersion !== 'string') return fail(joinField(at, 'apiVersion'), apiVersion.message);
  const kind = stringField(value, 'kind');
  if (typeof kind !== 'string') return fail(joinField(at, 'kind'), kind.message);
  if (kind === 'List' || (kind.endsWith('List') && 'items' in value)) {
    if (depth >= MAX_LIST_DEPTH) return fail(at, `Lists nested more than ${MAX_LIST_DEPTH} deep`);
    return expandList(file, document, at, { apiVersion, kind, value }, out, depth);
  }
  out.objects.push({ document, at, apiVersion, kind, value });
}

/** `kind: List` holds any objects; a typed `ServiceList` may leave its items' apiVersion and kind out. */
function expandList(
  file: string,
  document: number,
  at: string,
  list: { apiVersion: string; kind: string; value: Readonly<Record<string, unknown>> },
  out: FileContents,
  depth: number,
): void {
  const items = list.value.items;
  if (!Array.isArray(items)) {
    out.errors.push({ file, document, field: joinField(at, 'items'), message: `expected a sequence, found ${describe(items)}` });
    return;
  }
  const itemKind = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
  for (const [i, item] of (items as readonly unknown[]).entries()) {
    const typed = itemKind !== undefined && isMapping(item) ? { apiVersion: list.apiVersion, kind: itemKind, ...item } : item;
    collect(file, document, joinField(at, `items[${i}]`), typed, out, depth + 1);
  }
}
