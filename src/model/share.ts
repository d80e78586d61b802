/**
 * Structural sharing between one model and the next: an entry whose content is the same as the
 * previous model's entry of the same key is that very object. Nothing can tell the two apart by
 * content, and what is computed from a model entry (translation, the snapshot cache's encoding) can
 * then be found again by identity instead of being made and hashed anew: a change costs what it
 * changes. buildModel compares only the entries it built anew (model/memo.ts): a remembered one is
 * the previous model's already.
 */

/** Each entry's JSON, computed once: the previous model's entries are compared again at every build. */
const texts = new WeakMap<object, string>();

/** An object's JSON, computed once per object (objects compared by content are never changed). */
export function textOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

/** `last` when it is equal in content to `next`, else `next`. */
export function shareOne<T extends object>(next: T, last: T | undefined): T {
  return last !== undefined && last !== next && textOf(last) === textOf(next) ? last : next;
}
