/**
 * Line and column for the problems found after parsing — the model's, such as a TrafficPolicy's
 * spec that fails its schema (`spec.retires: unknown field`) — from the text of the files they
 * name. Used where the files are at hand (`trellis validate` and `render`).
 */
import type { Problem } from '../../model/problems.js';
import type { ManifestFile } from './parse.js';
import { documentPositions, parseFieldPath, type Positions } from './positions.js';

/** Each problem about a document of `files` that has no line yet, with the line and column of its field (or its object). */
export function locateProblems(problems: readonly Problem[], files: readonly ManifestFile[]): Problem[] {
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
    if (p.line !== undefined || p.file === undefined || p.document === undefined || !texts.has(p.file)) return p;
    const at = positionsIn(p.file)[p.document]?.at(p.field === undefined ? [] : parseFieldPath(p.field));
    return at === undefined ? p : { ...p, ...at };
  });
}
