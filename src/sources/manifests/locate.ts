/**
 * Line and column for the problems found after parsing — the model's, such as a TrafficPolicy's
 * spec that fails its schema (`spec.retires: unknown field`) — from the text of the files they
 * name. Used where the files are at hand (`trellis validate` and `render`).
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { ManifestFile } from './parse.js';
import { documentPositions, parseFieldPath, type Positions } from './positions.js';

/** Each problem about a document of `files` that has no line yet, with the line and column of its field (or its object). */
export function locateProblems(problems: readonly Diagnostic[], files: readonly ManifestFile[]): Diagnostic[] {
  const texts = new Map(files.map((f) => [f.path, f.text]));
  const parsed = new Map<string, Positions[]>();
  const positionsIn = (file: string): Positions[] => {
    let docs = parsed.get(file);
    if (docs === undefined) {
      docs = documentPositions(texts.get(file) ?? '');
      parsed.set(file, docs);
    }
    return docs;
  };
  return problems.map((p) => {
    const { origin } = p;
    if (origin?.file === undefined || origin.document === undefined || origin.line !== undefined || !texts.has(origin.file)) return p;
    const at = positionsIn(origin.file)[origin.document]?.at(p.field === undefined ? [] : parseFieldPath(p.field));
    return at === undefined ? p : { ...p, origin: { ...origin, line: at.line, column: at.column } };
  });
}
