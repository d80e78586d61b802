/**
 * Structural sharing between one model and the next: an entry whose content is the same as the
 * previous model's entry of the same key is that very object. Nothing can tell the two apart by
 * content, and what is computed from a model entry (translation, the snapshot cache's encoding) can
 * then be found again by identity instead of being made and hashed anew: a change costs what it
 * changes.
 */

/** Each entry's JSON, computed once: the previous model's entries are compared again at every build. */
const texts = new WeakMap<object, string>();

function textOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

/** `next`, with every entry equal in content to `previous`'s entry of the same key replaced by that entry. */
export function shareUnchanged<T extends object>(next: readonly T[], previous: readonly T[] | undefined, key: (entry: T) => string): T[] {
  if (previous === undefined || previous.length === 0) return [...next];
  const before = new Map(previous.map((entry) => [key(entry), entry]));
  return next.map((entry) => {
    const last = before.get(key(entry));
    return last !== undefined && last !== entry && textOf(last) === textOf(entry) ? last : entry;
  });
}
