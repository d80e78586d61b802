/**
 * Manifests → MeshInputs: the pure part of the default source. Every object is validated against
 * its kind's schema; a bad object is reported with its file, document and field and never blocks
 * the others. An object that was good before and is now broken keeps serving its last good
 * version (the previous `ManifestState`), so a typo in a manifest never takes a Service away.
 */
import { compareText, diagnostic, formatRef, refOf, type Diagnostic, type ObjectRef } from '../../diagnostics.js';
import { INPUT_KINDS, type Input, type InputKindKey, type MeshInputs } from '../../model/inputs.js';
import { keptContents, readDocuments, isMapping, type FileContents, type FoundObject } from './documents.js';
import type { Position } from './positions.js';
import { formatPath, joinField, manifestDiagnostic } from './errors.js';

type ListKey = keyof MeshInputs;
type AnyInput = MeshInputs[ListKey][number];

/** An object as last served: the MeshInputs list it belongs to and the Input itself. */
export interface StoredInput {
  readonly list: ListKey;
  readonly input: AnyInput;
}

/** What the next parse needs to remember: the last good version of each object, and each file's objects. */
export interface ManifestState {
  /** objectRef → the last good version. */
  readonly objects: ReadonlyMap<string, StoredInput>;
  /** File path → the objectRefs served from it, the last time it parsed. */
  readonly files: ReadonlyMap<string, readonly string[]>;
  /** File path → its text and what it held, the last time it parsed: a file whose text is the same is not parsed again. */
  readonly documents: ReadonlyMap<string, ParsedFile>;
}

/** One file's text and the objects found in it. */
export interface ParsedFile {
  readonly text: string;
  readonly contents: FileContents;
}

export interface ManifestResult {
  readonly inputs: MeshInputs;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
  /** Objects of kinds Trellis does not read, counted by kind (in kind order): reported in one line, see skippedSummary. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly state: ManifestState;
}

export interface ManifestFile {
  /** Relative to the manifests directory; used in messages and origins. */
  readonly path: string;
  readonly text: string;
  /**
   * Why the file (or the directory at this path) could not be read: an error on the path, and
   * the objects served from it (or from under it) before keep serving. `text` is then empty.
   */
  readonly problem?: string;
}

export const EMPTY_MANIFEST_STATE: ManifestState = { objects: new Map(), files: new Map(), documents: new Map() };

/** An object checked against its kind's schema: what it serves as, or its first problem. */
type Checked = { readonly stored: StoredInput } | { readonly issue: { readonly path: PropertyKey[]; readonly message: string } | undefined };

/**
 * Each object found, checked once: a file whose text did not change keeps its FoundObjects (see
 * ManifestState.documents), so its objects are not checked against their schemas again.
 */
const checked = new WeakMap<FoundObject, Checked>();

function check(path: string, found: FoundObject, key: InputKindKey): Checked {
  const known = checked.get(found);
  if (known !== undefined) return known;
  const entry = INPUT_KINDS[key];
  const parsed = entry.schema.safeParse(found.value);
  const result: Checked = parsed.success
    ? { stored: { list: entry.list, input: { object: parsed.data, origin: { file: path, document: found.document } } as AnyInput } }
    : { issue: parsed.error.issues[0] };
  checked.set(found, result);
  return result;
}

const CLUSTER_SCOPED: ReadonlySet<string> = new Set<InputKindKey>(['v1/Namespace', 'v1/Node']);
const KNOWN_KINDS: ReadonlyMap<string, string> = new Map(
  Object.keys(INPUT_KINDS).map((key) => [key.slice(key.lastIndexOf('/') + 1), key.slice(0, key.lastIndexOf('/'))]),
);

function isInputKind(key: string): key is InputKindKey {
  return Object.hasOwn(INPUT_KINDS, key);
}

/** A kind Trellis reads, from another apiVersion: most likely a mistake, worth a warning of its own. */
function wrongApiVersion(apiVersion: string, kind: string, known: string): string {
  return `skipped: kind ${apiVersion}/${kind} is not read by Trellis (Trellis reads ${kind} from apiVersion ${known})`;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function refOfInput(input: AnyInput): ObjectRef {
  const meta = input.object.metadata;
  return refOf(input.object.kind, { name: meta.name, namespace: 'namespace' in meta ? meta.namespace : undefined });
}

function originText(input: AnyInput): string {
  return `${input.origin.file ?? '?'}#${(input.origin.document ?? 0) + 1}`;
}

interface Identity {
  readonly key: string;
  readonly object: ObjectRef | undefined;
  readonly ref: string | undefined;
}

/** Each object found, identified once (see `checked`). */
const identities = new WeakMap<FoundObject, Identity>();

/** An object's kind key, reference and its `formatRef` (undefined when it has no name). */
function identify(found: FoundObject): Identity {
  const known = identities.get(found);
  if (known !== undefined) return known;
  const identity = identifyNew(found);
  identities.set(found, identity);
  return identity;
}

function identifyNew(found: FoundObject): Identity {
  const { apiVersion, kind, value } = found;
  const key = `${apiVersion}/${kind}`;
  const meta = isMapping(value.metadata) ? value.metadata : {};
  const name = nonEmpty(meta.name);
  const namespace = CLUSTER_SCOPED.has(key) ? undefined : (nonEmpty(meta.namespace) ?? 'default');
  const object = name === undefined ? undefined : refOf(kind, { name, namespace });
  return { key, object, ref: object && formatRef(object) };
}

/** Where an object is defined: a key for comparing, and `web.yaml#2` for people. */
interface Owner {
  readonly key: string;
  readonly text: string;
}

function placeKey(path: string, found: FoundObject): string {
  return JSON.stringify([path, found.document, found.at]);
}

/**
 * For each object defined more than once, the definition that serves: the one already in force
 * (same file and document as the last good version), else the first in path order. So a new
 * `aaa-dup.yaml` never takes an object over; it is an error naming both files.
 */
function owners(files: readonly { file: ManifestFile; contents: FileContents | undefined }[], previous: ManifestState): Map<string, Owner> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { contents } of files) {
    for (const found of contents?.objects ?? []) {
      const { ref } = identify(found);
      if (ref === undefined) continue;
      if (seen.has(ref)) twice.add(ref);
      seen.add(ref);
    }
  }
  const all = new Map<string, Owner[]>();
  const inForce = new Map<string, Owner>();
  for (const { file, contents } of twice.size === 0 ? [] : files) {
    for (const found of contents?.objects ?? []) {
      const { ref } = identify(found);
      if (ref === undefined || !twice.has(ref)) continue;
      const owner = { key: placeKey(file.path, found), text: `${file.path}#${found.document + 1}` };
      all.set(ref, [...(all.get(ref) ?? []), owner]);
      const origin = previous.objects.get(ref)?.input.origin;
      if (origin?.file === file.path && origin.document === found.document && !inForce.has(ref)) inForce.set(ref, owner);
    }
  }
  const chosen = new Map<string, Owner>();
  for (const [ref, list] of all) {
    const owner = inForce.get(ref) ?? list[0];
    if (list.length > 1 && owner !== undefined) chosen.set(ref, owner);
  }
  return chosen;
}

/** Accumulates one parse: what is served, who claimed which name, and what went wrong. */
class Collector {
  readonly served = new Map<string, StoredInput>();
  readonly claimed = new Map<string, string>();
  readonly files = new Map<string, string[]>();
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly skipped = new Map<string, number>();
  /** Files last served that could not be read this time (they keep their objects, after every readable file has claimed its own). */
  readonly unreadableFiles: string[] = [];

  constructor(
    private readonly previous: ManifestState,
    /** objectRef → the one place it is served from, when several define it. */
    private readonly owners: ReadonlyMap<string, Owner>,
  ) {}

  private serve(path: string, ref: string, stored: StoredInput): void {
    this.served.set(ref, stored);
    this.files.get(path)?.push(ref);
  }

  /** Serves the previous good version of `ref`, if there is one, with a warning saying so. */
  keepLastGood(path: string, document: number, ref: string, at?: Position): void {
    const last = this.previous.objects.get(ref);
    if (!last) return;
    this.serve(path, ref, last);
    const message = `kept serving the last good version (from ${originText(last.input)})`;
    this.warnings.push(manifestDiagnostic('warning', path, document, refOfInput(last.input), undefined, message, at));
  }

  add(path: string, found: FoundObject): void {
    const { document, at, apiVersion, kind, positions } = found;
    const { key, object, ref } = identify(found);
    const report = (severity: 'error' | 'warning', field: string | undefined, message: string, position: Position | undefined): void =>
      void (severity === 'error' ? this.errors : this.warnings).push(manifestDiagnostic(severity, path, document, object, field, message, position));
    if (!isInputKind(key)) return this.skip(apiVersion, kind, (message) => report('warning', undefined, message, positions.at([])));
    const nameField = joinField(at, 'metadata.name');
    const nameAt = (): Position | undefined => positions.at(['metadata', 'name']);
    if (ref === undefined) return report('error', nameField, 'required', nameAt());
    const owner = this.owners.get(ref);
    const first = this.claimed.get(ref) ?? (owner !== undefined && owner.key !== placeKey(path, found) ? owner.text : undefined);
    if (first !== undefined) return report('error', nameField, `${ref} is already defined in ${first}; this one is ignored`, nameAt());
    this.claimed.set(ref, `${path}#${document + 1}`);
    const result = check(path, found, key);
    if ('stored' in result) return this.serve(path, ref, result.stored);
    const { issue } = result;
    const field = joinField(at, formatPath(issue?.path ?? []));
    report('error', field, issue?.message ?? 'invalid', positions.at(issue?.path ?? []));
    this.keepLastGood(path, document, ref, positions.at([]));
  }

  /** A kind Trellis does not read is counted; a kind it reads, from another apiVersion, is warned about. */
  private skip(apiVersion: string, kind: string, warn: (message: string) => void): void {
    const known = KNOWN_KINDS.get(kind);
    if (known !== undefined) warn(wrongApiVersion(apiVersion, kind, known));
    else this.skipped.set(kind, (this.skipped.get(kind) ?? 0) + 1);
  }

  /**
   * A file that did not parse, or has documents too broken to name their object, keeps serving
   * the objects it served before that nothing else has claimed since.
   */
  retainFile(path: string): void {
    for (const ref of this.previous.files.get(path) ?? []) {
      const last = this.previous.objects.get(ref);
      if (this.claimed.has(ref) || !last) continue;
      this.claimed.set(ref, originText(last.input));
      this.keepLastGood(path, last.input.origin.document ?? 0, ref);
    }
  }

  /** An entry that could not be read: an error on its path; every file at or under it keeps its previous objects. */
  unreadable(path: string, problem: string): void {
    this.errors.push(diagnostic('error', undefined, undefined, problem, { file: path }));
    for (const file of this.previous.files.keys()) {
      if (file === path || file.startsWith(`${path}/`)) this.unreadableFiles.push(file);
    }
  }

  /** Adds every object of one file; says whether the file must keep its previous objects. */
  addFile(file: ManifestFile, contents: FileContents | undefined): boolean {
    if (file.problem !== undefined || contents === undefined) {
      this.unreadable(file.path, file.problem ?? 'cannot read');
      return false;
    }
    this.files.set(file.path, []);
    this.errors.push(...contents.errors);
    for (const found of contents.objects) this.add(file.path, found);
    return contents.unparseable || contents.errors.some((e) => e.object === undefined);
  }
}

function namespaceOf(input: AnyInput): string {
  const meta = input.object.metadata;
  return 'namespace' in meta ? meta.namespace : '';
}

function compareInputs(a: AnyInput, b: AnyInput): number {
  const [x, y] = namespaceOf(a) === namespaceOf(b) ? [a.object.metadata.name, b.object.metadata.name] : [namespaceOf(a), namespaceOf(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function toInputs(served: Iterable<StoredInput>): MeshInputs {
  const lists: Record<ListKey, AnyInput[]> = { namespaces: [], nodes: [], services: [], endpointSlices: [], pods: [], trafficPolicies: [] };
  for (const { list, input } of served) lists[list].push(input);
  const sorted = <K extends ListKey>(k: K): MeshInputs[K] => lists[k].sort(compareInputs) as Input<unknown>[] as MeshInputs[K];
  return {
    namespaces: sorted('namespaces'),
    nodes: sorted('nodes'),
    services: sorted('services'),
    endpointSlices: sorted('endpointSlices'),
    pods: sorted('pods'),
    trafficPolicies: sorted('trafficPolicies'),
  };
}

/**
 * Parses the files (in path order) into MeshInputs, every list sorted by namespace then name.
 * `previous` is the state of the last parse; pass the returned state to the next one.
 */
export function parseManifests(files: ReadonlyArray<ManifestFile>, previous: ManifestState = EMPTY_MANIFEST_STATE): ManifestResult {
  const documents = new Map<string, ParsedFile>();
  const contentsOf = (file: ManifestFile): FileContents | undefined => {
    if (file.problem !== undefined) return undefined;
    const last = previous.documents.get(file.path);
    const parsed =
      last !== undefined && last.text === file.text ? last : { text: file.text, contents: keptContents(file.text, readDocuments(file.path, file.text)) };
    documents.set(file.path, parsed);
    return parsed.contents;
  };
  const ordered = [...files].sort((a, b) => compareText(a.path, b.path)).map((file) => ({ file, contents: contentsOf(file) }));
  const collector = new Collector(previous, owners(ordered, previous));
  const damaged = ordered.filter(({ file, contents }) => collector.addFile(file, contents)).map(({ file }) => file);
  for (const path of [...damaged.map((file) => file.path), ...collector.unreadableFiles]) {
    if (!collector.files.has(path)) collector.files.set(path, []);
    collector.retainFile(path);
  }
  return {
    inputs: toInputs(collector.served.values()),
    errors: collector.errors,
    warnings: collector.warnings,
    skipped: Object.fromEntries([...collector.skipped].sort(([a], [b]) => compareText(a, b))),
    state: { objects: collector.served, files: collector.files, documents },
  };
}
