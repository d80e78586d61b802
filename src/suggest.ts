/**
 * Suggestions for names people mistype: the nearest known field of an unknown one
 * (`spec.retires: unknown field (did you mean retries?)`), the closest workloads to a proxy that
 * names none. One edit distance for every such message.
 *
 * A leaf module: it imports nothing, so every layer may use it.
 */

/** The last row of the edit-distance table: entry j is the distance from `a` to the first j characters of `b`. */
function distancesToPrefixes(a: string, b: string): number[] {
  // Three rows of the dynamic programme: two back (for swaps), one back, and the current one.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous;
}

/**
 * The optimal string alignment distance: the fewest insertions, deletions, substitutions and
 * swaps of two adjacent characters (each costs 1) that turn `a` into `b`. `retires` → `retries` is 1.
 */
export function editDistance(a: string, b: string): number {
  return distancesToPrefixes(a, b)[b.length] ?? 0;
}

/** The distance from `a` to the beginning of `b` that it is closest to: `frontnd` → `frontend-6d9f7-a1` is 1. */
export function prefixDistance(a: string, b: string): number {
  return Math.min(...distancesToPrefixes(a, b));
}

/**
 * The candidates nearest to `word`, at most `limit` (3): first by how close `word` is to their
 * beginning (a pod's generated suffix does not push it away), then by edit distance, then in name
 * order. `word` itself is never one.
 */
export function closest(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const scored = [...new Set(candidates)]
    .filter((c) => c !== word)
    .map((name) => ({ name, prefix: prefixDistance(word, name), whole: editDistance(word, name) }));
  scored.sort((x, y) => x.prefix - y.prefix || x.whole - y.whole || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return scored.slice(0, limit).map((c) => c.name);
}

/**
 * The one known name a typo most likely meant: the nearest, ignoring case, within a third of the
 * word's length (at least 1 edit); undefined when nothing is that close.
 */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (name === word) continue;
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance || (distance === best.distance && name < best.name))) best = { name, distance };
  }
  return best?.name;
}
