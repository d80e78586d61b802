/**
 * Incremental building: a step of buildModel that works on one object (a Service, a Pod) remembers,
 * per key, what it read, what it made and what it reported, from one build to the next. When what it
 * reads is the same as last time, the last result is used again, the very same object, and what it
 * reported is reported again in the same place. A change then costs what it changes.
 *
 * What a step reads is listed by the step itself as `inputs`, compared element by element with `===`:
 * objects by identity (the sources keep an unchanged Kubernetes object as the very same object, and
 * a remembered step's result is the same object again), everything else by value. A step must list
 * every input it reads (the object, its origin's fields, the options it uses, what it looked up
 * elsewhere); listing more than it reads only costs a hit now and then.
 *
 * The memo of one build is held only by the model it built (model/build.ts), so nothing outlives
 * the model that the next build starts from.
 */
import { Diagnostics, type Diagnostic, type Origin } from '../diagnostics.js';

interface Entry<R> {
  readonly inputs: readonly unknown[];
  readonly result: R;
  readonly reported: readonly Diagnostic[];
}

/** What one build's step remembers for the next build, by key. */
export type Remembered<R> = ReadonlyMap<string, Entry<R>>;

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where inputs are listed: an array, or an InputList. */
export interface InputSink {
  push(value: unknown): unknown;
}

/** Adds the fields of an origin to `inputs` (by content: a source may wrap an unchanged object anew). */
export function pushOrigin(inputs: InputSink, origin: Origin): void {
  inputs.push(origin.file);
  inputs.push(origin.document);
  inputs.push(origin.line);
  inputs.push(origin.column);
}

/**
 * Inputs listed against the last build's list for the same step: while every value is the one at
 * its place in that list, nothing is stored, and `list()` is that very list. A step whose inputs
 * run long (a namespace's thousands of Pods) then costs a comparison, not a new array, when nothing
 * changed.
 */
export class InputList implements InputSink {
  private made: unknown[] | undefined;
  private at = 0;

  constructor(private readonly last: readonly unknown[] | undefined) {}

  push(value: unknown): void {
    if (this.made !== undefined) this.made.push(value);
    else if (this.last !== undefined && this.at < this.last.length && this.last[this.at] === value) this.at++;
    else this.made = [...(this.last?.slice(0, this.at) ?? []), value];
  }

  /** The inputs listed: the last list when they are the same, else a new one. */
  list(): readonly unknown[] {
    if (this.made !== undefined) return this.made;
    if (this.last !== undefined && this.at === this.last.length) return this.last;
    return (this.made = this.last?.slice(0, this.at) ?? []);
  }
}

/** One step's results by key: the last build's, read; this build's, written (and nothing older: no chain of builds is kept). */
export class StepMemo<R> {
  private readonly next = new Map<string, Entry<R>>();

  constructor(private readonly last?: Remembered<R>) {}

  /**
   * `compute`'s result for `key`, or the last build's result for it when `inputs` are the same; what
   * it reported goes to `sink`, in the order it reported it, either way.
   */
  run(key: string, inputs: readonly unknown[], sink: Diagnostics, compute: (sink: Diagnostics) => R): R {
    const before = this.last?.get(key);
    if (before !== undefined && sameInputs(before.inputs, inputs)) {
      for (const d of before.reported) sink.add(d);
      this.next.set(key, before);
      return before.result;
    }
    const local = new Diagnostics();
    const result = compute(local);
    for (const d of local.list) sink.add(d);
    this.next.set(key, { inputs, result, reported: local.list });
    return result;
  }

  /** What the last build's step made for `key`, if it ran for it. */
  lastResult(key: string): R | undefined {
    return this.last?.get(key)?.result;
  }

  /** What the last build's step for `key` read. */
  lastInputs(key: string): readonly unknown[] | undefined {
    return this.last?.get(key)?.inputs;
  }

  /** What this build's step remembers for the next one. */
  get remembered(): Remembered<R> {
    return this.next;
  }
}

/** A group's results, and what its items remembered when they were last worked out. */
export interface GroupEntry<R, I> {
  readonly results: readonly R[];
  readonly inner: I;
}

/**
 * A step over the items of a group (a namespace's Services, or Pods), remembered for the group as a
 * whole: while the inputs of every item of the group are the same, so are its results, and nothing
 * is done per item. When they are not, `compute` works the items out, given what they remembered the
 * last time the group was worked out (`inner`, usually a StepMemo's per item): an unchanged item
 * then costs a look-up, and the group a change touched costs what changed in it.
 */
export class GroupMemo<R, I> {
  private readonly groups: StepMemo<GroupEntry<R, I>>;

  constructor(last?: Remembered<GroupEntry<R, I>>) {
    this.groups = new StepMemo(last);
  }

  run(group: string, inputs: readonly unknown[], sink: Diagnostics, compute: (last: I | undefined, sink: Diagnostics) => GroupEntry<R, I>): readonly R[] {
    return this.groups.run(group, inputs, sink, (local) => compute(this.groups.lastResult(group)?.inner, local)).results;
  }

  /** What the last build's step for `group` read (to list this build's against: InputList). */
  lastInputs(group: string): readonly unknown[] | undefined {
    return this.groups.lastInputs(group);
  }

  /** What this build's step remembers for the next one. */
  get remembered(): Remembered<GroupEntry<R, I>> {
    return this.groups.remembered;
  }
}

/** One step per item, in groups (see GroupMemo): what each item reads, and how its result is made. */
export interface ItemStep<T, R> {
  key(item: T): string;
  /** Adds everything the item's step reads to `inputs`. */
  inputs(item: T, inputs: unknown[]): void;
  /** The item's result; `last`: what the last build made for its key, if anything. */
  compute(item: T, sink: Diagnostics, last: R | undefined): R;
}

/** A GroupMemo whose items are each remembered by a StepMemo: the usual case. */
export class ItemsMemo<R> {
  private readonly groups: GroupMemo<R, Remembered<R>>;

  constructor(last?: Remembered<GroupEntry<R, Remembered<R>>>) {
    this.groups = new GroupMemo(last);
  }

  /**
   * The results of `items` (one group's), in their order. `inputs`: what the group's steps read,
   * every item's (ItemsMemo.inputsOf, or something that tells as much); each item's own are worked
   * out only when the group's changed.
   */
  run<T>(group: string, inputs: readonly unknown[], items: readonly T[], step: ItemStep<T, R>, sink: Diagnostics): readonly R[] {
    return this.groups.run(group, inputs, sink, (last, local) => {
      const memo = new StepMemo<R>(last);
      const results = items.map((item) => {
        const key = step.key(item);
        const own: unknown[] = [];
        step.inputs(item, own);
        return memo.run(key, own, local, (s) => step.compute(item, s, memo.lastResult(key)));
      });
      return { results, inner: memo.remembered };
    });
  }

  /** What the last build's step for `group` read. */
  lastInputs(group: string): readonly unknown[] | undefined {
    return this.groups.lastInputs(group);
  }

  /** The inputs of every item's step, one after the other. */
  static inputsOf<T>(items: readonly T[], step: Pick<ItemStep<T, unknown>, 'inputs'>): unknown[] {
    const inputs: unknown[] = [items.length];
    for (const item of items) step.inputs(item, inputs);
    return inputs;
  }

  get remembered(): Remembered<GroupEntry<R, Remembered<R>>> {
    return this.groups.remembered;
  }
}
