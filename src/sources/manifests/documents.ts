/**
 * Splits one manifest file into the Kubernetes objects it holds: every YAML document, with
 * `List` kinds expanded as kubectl does. Only the envelope is checked here (a mapping with
 * `apiVersion` and `kind`); validation against the schemas happens in parse.ts.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import type { Diagnostic } from '../../diagnostics.js';
import { joinField, manifestDiagnostic } from './errors.js';
import { NO_POSITIONS, parseFieldPath, positionsOf, type Position, type Positions } from './positions.js';

/** One object found in a file, not yet validated. */
export interface FoundObject {
  readonly document: number;
  /** Where the object sits in its document: '' at the top, `items[2]` inside a List. */
  readonly at: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly value: Readonly<Record<string, unknown>>;
  /** Where the object's fields are in the file (paths from the object). */
  readonly positions: Positions;
}

export interface FileContents {
  readonly objects: FoundObject[];
  readonly errors: Diagnostic[];
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

/** One YAML document: its plain value and where its parts are. */
interface ParsedDocument {
  readonly value: unknown;
  readonly positions: Positions;
}

function yamlError(file: string, document: number, message: string, at: Position | undefined): Diagnostic {
  const text = firstLine(message).replace(/ at line \d+, column \d+$/, '');
  return manifestDiagnostic('error', file, document, undefined, undefined, `not valid YAML: ${text}`, at);
}

/** Parses the text into one plain value per YAML document, or the first YAML error. */
function parseYaml(file: string, text: string): ParsedDocument[] | Diagnostic {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter });
  const parsed: ParsedDocument[] = [];
  for (const [document, doc] of docs.entries()) {
    const syntax = doc.errors[0];
    const start = syntax?.linePos?.[0];
    if (syntax) return yamlError(file, document, syntax.message, start ? { line: start.line, column: start.col } : undefined);
    const positions = positionsOf(doc.contents, lineCounter);
    try {
      parsed.push({ value: doc.toJS(), positions });
    } catch (err) {
      return yamlError(file, document, (err as Error).message, positions.at([]));
    }
  }
  return parsed;
}

export function readDocuments(file: string, text: string): FileContents {
  const docs = parseYaml(file, text);
  if (!Array.isArray(docs)) return { objects: [], errors: [docs], unparseable: true };
  const out: FileContents = { objects: [], errors: [], unparseable: false };
  for (const [document, { value, positions }] of docs.entries()) {
    if (value !== null && value !== undefined) collect({ file, document, at: '', positions }, value, out, 0);
  }
  return out;
}

function stringField(value: Readonly<Record<string, unknown>>, key: string): string | { message: string } {
  const v = value[key];
  if (typeof v === 'string' && v !== '') return v;
  return { message: v === undefined || v === '' ? 'required' : `expected a string, found ${describe(v)}` };
}

/** Where a value sits: its file, document, path in the document and positions from it. */
interface Place {
  readonly file: string;
  readonly document: number;
  readonly at: string;
  readonly positions: Positions;
}

function collect(place: Place, value: unknown, out: FileContents, depth: number): void {
  const { file, document, at, positions } = place;
  const fail = (field: string, path: readonly string[], message: string): void => {
    out.errors.push(manifestDiagnostic('error', file, document, undefined, field || undefined, message, positions.at(path)));
  };
  if (!isMapping(value)) return fail(at, [], `expected a mapping (a Kubernetes object), found ${describe(value)}`);
  const apiVersion = stringField(value, 'apiVersion');
  if (typeof apiVersion !== 'string') return fail(joinField(at, 'apiVersion'), ['apiVersion'], apiVersion.message);
  const kind = stringField(value, 'kind');
  if (typeof kind !== 'string') return fail(joinField(at, 'kind'), ['kind'], kind.message);
  if (kind === 'List' || (kind.endsWith('List') && 'items' in value)) {
    if (depth >= MAX_LIST_DEPTH) return fail(at, [], `Lists nested more than ${MAX_LIST_DEPTH} deep`);
    return expandList(place, { apiVersion, kind, value }, out, depth);
  }
  out.objects.push({ document, at, apiVersion, kind, value, positions });
}

/** `kind: List` holds any objects; a typed `ServiceList` may leave its items' apiVersion and kind out. */
function expandList(
  place: Place,
  list: { apiVersion: string; kind: string; value: Readonly<Record<string, unknown>> },
  out: FileContents,
  depth: number,
): void {
  const items = list.value.items;
  if (!Array.isArray(items)) {
    const { file, document, at, positions } = place;
    out.errors.push(
      manifestDiagnostic('error', file, document, undefined, joinField(at, 'items'), `expected a sequence, found ${describe(items)}`, positions.at(['items'])),
    );
    return;
  }
  const itemKind = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
  for (const [i, item] of (items as readonly unknown[]).entries()) {
    const typed = itemKind !== undefined && isMapping(item) ? { apiVersion: list.apiVersion, kind: itemKind, ...item } : item;
    const positions = place.positions.within(['items', i]);
    collect({ ...place, at: joinField(place.at, `items[${i}]`), positions }, typed, out, depth + 1);
  }
}

/**
 * The file's contents as kept between parses: each object's positions found again from the text
 * when asked (an error's line and column), instead of holding the YAML document's nodes, which take
 * many times the text's size (14 000 objects: about 450 MiB).
 */
export function keptContents(text: string, contents: FileContents): FileContents {
  return { ...contents, objects: contents.objects.map((o) => ({ ...o, positions: lazyPositions(text, o.document, o.at) })) };
}

function lazyPositions(text: string, document: number, at: string): Positions {
  let found: Positions | undefined;
  const positions = (): Positions => (found ??= positionsIn(text, document, at));
  return { at: (path) => positions().at(path), within: (path) => positions().within(path) };
}

/** The positions of the value at `at` (`''`, `items[2]`) in document `document` of `text`. */
function positionsIn(text: string, document: number, at: string): Positions {
  const lineCounter = new LineCounter();
  const doc = parseAllDocuments(text, { lineCounter })[document];
  if (doc === undefined) return NO_POSITIONS;
  const root = positionsOf(doc.contents, lineCounter);
  return at === '' ? root : root.within(parseFieldPath(at));
}
