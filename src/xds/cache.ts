/**
 * The snapshot cache: content only, no protocol.
 *
 * For each proxy class it holds one snapshot: per resource kind, the resources by name. Setting a
 * snapshot encodes only what is new (a resource whose content was seen before, in this class or
 * another, reuses the same entry and bytes), computes what changed, and tells the listeners which
 * names changed, so that only the streams subscribed to them are touched.
 *
 * Every mutation is synchronous: no await between reading and writing the maps.
 */
import { createHash } from 'node:crypto';
import { compareText, diagnostic, formatRef, sameRef, type Diagnostic, type ObjectRef } from '../diagnostics.js';
import { EncodeError } from '../envoy/codec.js';
import { partsOf, type DesiredResource } from '../envoy/resources.js';
import { messageNameOf, PUSH_ORDER, TypeUrl, type ResourceKind } from '../envoy/types.js';
import { combineVersions, digestOf, encodeEntry, steppedVersion, type ResourceEntry } from './resource.js';
import { diff, JoinedEntries, NO_NAMES, sortedByName, type KindChange, type KindSnapshot } from './entries.js';

export type { Entries, KindChange, KindSnapshot, Names } from './entries.js';

export type Snapshot = { readonly [K in ResourceKind]: KindSnapshot };

export type DesiredSnapshot = { readonly [K in ResourceKind]?: Iterable<DesiredResource<K>> };

export interface SnapshotChange {
  readonly proxyClass: string;
  readonly snapshot: Snapshot;
  readonly kinds: ReadonlyMap<ResourceKind, KindChange>;
}

/**
 * A resource that could not be encoded, as a diagnostic on each object that produced it; the
 * previous good version (if any) keeps serving.
 */
function rejected(kind: ResourceKind, name: string, sources: readonly ObjectRef[], message: string): Diagnostic[] {
  const type = messageNameOf(TypeUrl[kind]);
  const text = `${type.slice(type.lastIndexOf('.') + 1)} ${name}: ${message}; the last good version keeps serving`;
  return sources.length === 0 ? [diagnostic('error', undefined, undefined, text)] : sources.map((s) => diagnostic('error', s, undefined, text));
}

type Listener = (change: SnapshotChange) => void;

interface Interned {
  readonly entry: ResourceEntry;
  refs: number;
}

/** The entries a stepped snapshot swapped for those of the snapshot it was stepped from (SnapshotCache.step). */
interface Step {
  readonly out: readonly ResourceEntry[];
  readonly into: readonly ResourceEntry[];
}

/** The key a prepared list's steps are remembered under (no proxy class has a NUL in its key). */
function preparedHolder(key: string): string {
  return `\0${key}`;
}

/** One kind's snapshot built from a desired list and the snapshot before it. */
interface KindBuild {
  readonly kind: ResourceKind;
  readonly from: KindSnapshot;
  readonly snapshot: KindSnapshot;
  readonly change: KindChange;
  readonly errors: readonly Diagnostic[];
  /** When the snapshot was stepped from `from`: the entries swapped. */
  readonly step?: Step;
}

const NO_CHANGE: KindChange = { updated: NO_NAMES, removed: NO_NAMES };

const EMPTY_KIND: KindSnapshot = { entries: new Map(), version: digestOf([]) };

function emptySnapshot(): Snapshot {
  return { secret: EMPTY_KIND, cluster: EMPTY_KIND, endpoint: EMPTY_KIND, listener: EMPTY_KIND, route: EMPTY_KIND };
}

export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  /** Lists held ahead of the classes that will be given them (prepare), by key. */
  private readonly prepared = new Map<string, Snapshot>();
  /** Entries by content key, shared across classes, reference counted by the snapshots holding them. */
  private readonly interned = new Map<string, Interned>();
  /** Entries by the very object they were built from: translation that reuses objects skips hashing. */
  private byObject = new WeakMap<object, ResourceEntry>();
  /** The last snapshot built from each desired list (by identity), and from which snapshot. */
  private builds = new WeakMap<object, KindBuild>();
  /**
   * Per holder (a class, or a prepared key) and kind, the snapshot it holds and the list that made
   * it, when nothing in it failed: what the next list is stepped from (step). Only what is held now
   * (a map of snapshots to lists would keep every earlier snapshot alive through `builds`).
   */
  private made = new Map<string, Map<ResourceKind, { readonly snapshot: KindSnapshot; readonly list: readonly DesiredResource<ResourceKind>[] }>>();
  /** The part snapshots each joined snapshot is made of (joined): holding it holds them. */
  private readonly parts = new WeakMap<KindSnapshot, readonly KindSnapshot[]>();
  /** How many classes hold each kind snapshot: its entries are retained once, whatever that number. */
  private readonly holders = new Map<KindSnapshot, number>();
  private readonly listeners = new Set<Listener>();
  private readonly readyListeners = new Set<() => void>();
  /** How many held kind snapshots have each version; a version no held snapshot has any more is released. */
  private readonly heldVersions = new Map<string, number>();
  private readonly releaseListeners = new Set<(version: string) => void>();
  private isReady = false;
  /** How many resources were encoded since start: grows with changed resources, not with proxies. */
  encodes = 0;

  /** True once the sources have synced and a first snapshot is complete; requests wait until then. */
  get ready(): boolean {
    return this.isReady;
  }

  markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    for (const l of this.readyListeners) l();
  }

  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with each version that no snapshot the cache holds has any more (the class that
   * held it changed or went): what was made for that version alone (encoded responses) can go.
   */
  onRelease(listener: (version: string) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  get(proxyClass: string): Snapshot | undefined {
    return this.snapshots.get(proxyClass);
  }

  classes(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  /** Number of proxy classes with a snapshot. */
  get classCount(): number {
    return this.snapshots.size;
  }

  /** Number of distinct encoded resources held. */
  get size(): number {
    return this.interned.size;
  }

  /**
   * Replaces the snapshot of one proxy class. Kinds missing from `desired` are left as they were.
   * Returns the resources that failed to encode; each keeps its previous good version, if it had one.
   *
   * A kind's list handed to many classes as the very same array (translation shares what does not
   * depend on the proxy) is built once: every class that held the same snapshot of that kind before
   * gets the same new snapshot and the same change, in constant time, whatever the number of classes.
   * So a list handed to the cache must never change afterwards: a changed list is a new array (the
   * very same array is taken to hold what it held when it was built).
   */
  set(proxyClass: string, desired: DesiredSnapshot): Diagnostic[] {
    const had = this.snapshots.get(proxyClass);
    const { next, kinds, errors } = this.replace(proxyClass, had ?? emptySnapshot(), desired);
    if (kinds.size === 0 && had !== undefined) return errors;
    this.snapshots.set(proxyClass, next);
    if (kinds.size > 0) this.emit({ proxyClass, snapshot: next, kinds });
    return errors;
  }

  /**
   * Holds lists that proxy classes will be given (the lists every sidecar shares), encoded ahead of
   * the first class that asks for them, under `key` (no proxy class): that class then finds every
   * entry by identity. Returns what failed to encode (the classes given the lists report it too).
   */
  prepare(key: string, desired: DesiredSnapshot): Diagnostic[] {
    const { next, errors } = this.replace(preparedHolder(key), this.prepared.get(key) ?? emptySnapshot(), desired);
    this.prepared.set(key, next);
    return errors;
  }

  /**
   * The snapshot `desired` makes of `previous` (held by `holder`), what changed, and what failed to
   * encode; the new kinds held, the replaced ones let go.
   */
  private replace(
    holder: string,
    previous: Snapshot,
    desired: DesiredSnapshot,
  ): { next: Snapshot; kinds: Map<ResourceKind, KindChange>; errors: Diagnostic[] } {
    const errors: Diagnostic[] = [];
    const next: Record<ResourceKind, KindSnapshot> = { ...previous };
    const kinds = new Map<ResourceKind, KindChange>();
    const steps = new Map<ResourceKind, Step>();
    let made = this.made.get(holder);
    for (const kind of PUSH_ORDER) {
      const wanted = desired[kind] as Iterable<DesiredResource<typeof kind>> | undefined;
      if (!wanted) continue;
      const base = made?.get(kind);
      const built = this.kindFrom(kind, wanted, previous[kind], base?.snapshot === previous[kind] ? base.list : undefined);
      errors.push(...built.errors);
      if (built.errors.length === 0 && Array.isArray(wanted) && !(built.snapshot.entries instanceof JoinedEntries)) {
        made ??= new Map();
        made.set(kind, { snapshot: built.snapshot, list: wanted as readonly DesiredResource<ResourceKind>[] });
      } else made?.delete(kind);
      if (built.change.updated.size > 0 || built.change.removed.size > 0) {
        next[kind] = built.snapshot;
        kinds.set(kind, built.change);
        if (built.step && built.from === previous[kind]) steps.set(kind, built.step);
      }
    }
    if (made !== undefined && made.size > 0) this.made.set(holder, made);
    else this.made.delete(holder);
    for (const kind of kinds.keys()) this.move(previous[kind], next[kind], steps.get(kind));
    return { next, kinds, errors };
  }

  /** Lets go of what `prepare(key, …)` held. */
  unprepare(key: string): void {
    const snap = this.prepared.get(key);
    if (!snap) return;
    this.prepared.delete(key);
    this.made.delete(preparedHolder(key));
    for (const kind of PUSH_ORDER) this.drop(snap[kind]);
  }

  /** The keys `prepare` holds lists under. */
  preparedKeys(): string[] {
    return [...this.prepared.keys()];
  }

  /** Drops a proxy class and releases its entries. */
  delete(proxyClass: string): void {
    const snap = this.snapshots.get(proxyClass);
    if (!snap) return;
    this.snapshots.delete(proxyClass);
    this.made.delete(proxyClass);
    for (const kind of PUSH_ORDER) this.drop(snap[kind]);
  }

  /**
   * The snapshot of one kind that `wanted` makes from `previous`: the one made before from the very
   * same list (for this class or another) when it was made from the same snapshot or nothing failed
   * to encode in it, else built now.
   */
  private kindFrom<K extends ResourceKind>(
    kind: K,
    wanted: Iterable<DesiredResource<K>>,
    previous: KindSnapshot,
    base?: readonly DesiredResource<ResourceKind>[],
  ): KindBuild {
    const known = this.builds.get(wanted);
    if (known?.kind === kind) {
      if (known.from === previous) return known;
      if (known.snapshot === previous) return { kind, from: known.from, snapshot: known.snapshot, change: NO_CHANGE, errors: known.errors };
      if (known.errors.length === 0) {
        // Nothing failed: the list alone decides the snapshot, whatever was held before.
        const build = { kind, from: previous, snapshot: known.snapshot, change: diff(previous, known.snapshot), errors: known.errors };
        this.builds.set(wanted, build);
        return build;
      }
    }
    const parts = partsOf(wanted);
    const joined = parts === undefined ? undefined : this.joined(kind, parts);
    const stepped = joined === undefined && base !== undefined ? this.step(kind, wanted, previous, base as readonly DesiredResource<K>[]) : undefined;
    if (stepped !== undefined) {
      const build = { kind, from: previous, ...stepped, errors: [] };
      this.builds.set(wanted, build);
      return build;
    }
    const errors: Diagnostic[] = [];
    const snapshot = joined ?? this.buildKind(kind, wanted, previous, errors);
    const build = { kind, from: previous, snapshot, change: diff(previous, snapshot), errors };
    this.builds.set(wanted, build);
    return build;
  }

  /**
   * The snapshot `wanted` makes of `previous` when `previous` was made, with nothing failing, from a
   * list of the same names in the same order (a class's list after a change of some of its
   * resources): only the resources that are not the very objects of that list are looked at, and
   * the entries, version and change follow from those. Undefined when that does not hold, or a
   * resource fails to encode: the snapshot is then built whole.
   */
  private step<K extends ResourceKind>(
    kind: K,
    wanted: Iterable<DesiredResource<K>>,
    previous: KindSnapshot,
    base: readonly DesiredResource<K>[],
  ): { snapshot: KindSnapshot; change: KindChange; step?: Step } | undefined {
    if (!Array.isArray(wanted) || base.length !== wanted.length || previous.entries instanceof JoinedEntries) return undefined;
    const list = wanted as readonly DesiredResource<K>[];
    const out: ResourceEntry[] = [];
    const into: ResourceEntry[] = [];
    const errors: Diagnostic[] = [];
    for (let i = 0; i < list.length; i++) {
      const res = list[i] as DesiredResource<K>;
      const was = base[i] as DesiredResource<K>;
      if (res === was) continue;
      if (res.name !== was.name) return undefined;
      const entry = this.entryFor(kind, res, previous, errors);
      const held = previous.entries.get(res.name);
      if (errors.length > 0 || entry === undefined || held === undefined) return undefined;
      if (entry === held) continue;
      out.push(held);
      into.push(entry);
    }
    if (into.length === 0) return { snapshot: previous, change: NO_CHANGE };
    const entries = new Map(previous.entries);
    for (const e of into) entries.set(e.name, e);
    const snapshot = { entries, version: steppedVersion(previous.version, out, into) };
    return { snapshot, change: { updated: new Set(into.map((e) => e.name)), removed: NO_NAMES }, step: { out, into } };
  }

  /**
   * The snapshot of a list joined from parts (joinSorted), made of the parts' own snapshots: each
   * part is built once whatever the number of lists it is in, and held once (hold). Undefined when a
   * part has a resource that failed to encode, or a name is in two parts: then the list is built
   * as any other, which reports it.
   */
  private joined<K extends ResourceKind>(kind: K, parts: readonly (readonly DesiredResource<K>[])[]): KindSnapshot | undefined {
    const snapshots: KindSnapshot[] = [];
    for (const part of parts) {
      const known = this.builds.get(part);
      const built = known?.kind === kind && known.errors.length === 0 ? known : this.kindFrom(kind, part, EMPTY_KIND);
      if (built.errors.length > 0) return undefined;
      snapshots.push(built.snapshot);
    }
    const entries = JoinedEntries.of(snapshots.map((s) => s.entries));
    if (entries === undefined) return undefined;
    const snapshot = { entries, version: combineVersions(snapshots.map((s) => s.version)) };
    this.parts.set(snapshot, snapshots);
    return snapshot;
  }

  /**
   * A class now holds `to` instead of `from`. When `to` is new and stepped from `from`, which this
   * class alone held, only the swapped entries change hands (the rest stay held, once): what
   * hold(to) then drop(from) would do, at the cost of the change instead of the whole list.
   */
  private move(from: KindSnapshot, to: KindSnapshot, step: Step | undefined): void {
    if (step === undefined || this.holders.has(to) || this.holders.get(from) !== 1 || this.parts.has(from)) {
      this.hold(to);
      this.drop(from);
      return;
    }
    this.holders.set(to, 1);
    this.holdVersion(to.version);
    this.retain(step.into);
    this.release(step.out);
    this.holders.delete(from);
    this.letGoOfVersion(from.version);
  }

  /** A class now holds `snapshot`: its entries are held while any class holds it. */
  private hold(snapshot: KindSnapshot): void {
    const holders = this.holders.get(snapshot) ?? 0;
    this.holders.set(snapshot, holders + 1);
    if (holders > 0) return;
    this.holdVersion(snapshot.version);
    const parts = this.parts.get(snapshot);
    if (parts === undefined) this.retain(snapshot.entries.values());
    else for (const part of parts) this.hold(part);
  }

  private drop(snapshot: KindSnapshot): void {
    const holders = this.holders.get(snapshot) ?? 0;
    if (holders > 1) {
      this.holders.set(snapshot, holders - 1);
      return;
    }
    this.holders.delete(snapshot);
    if (holders !== 1) return;
    const parts = this.parts.get(snapshot);
    if (parts === undefined) this.release(snapshot.entries.values());
    else for (const part of parts) this.drop(part);
    this.letGoOfVersion(snapshot.version);
  }

  /** One held snapshot more has `version`. */
  private holdVersion(version: string): void {
    this.heldVersions.set(version, (this.heldVersions.get(version) ?? 0) + 1);
  }

  /** One held snapshot fewer has `version`; when none is left, the release listeners are told. */
  private letGoOfVersion(version: string): void {
    const versions = (this.heldVersions.get(version) ?? 1) - 1;
    if (versions > 0) {
      this.heldVersions.set(version, versions);
      return;
    }
    this.heldVersions.delete(version);
    for (const l of this.releaseListeners) l(version);
  }

  private buildKind<K extends ResourceKind>(kind: K, wanted: Iterable<DesiredResource<K>>, previous: KindSnapshot, errors: Diagnostic[]): KindSnapshot {
    const collected: ResourceEntry[] = [];
    let unchanged = true;
    for (const res of wanted) {
      const entry = this.entryFor(kind, res, previous, errors);
      if (!entry) continue;
      collected.push(entry);
      if (unchanged && previous.entries.get(entry.name) !== entry) unchanged = false;
    }
    // The common case for most kinds of a change: every entry is the one already held.
    // (A name given twice would leave another of the previous names out: the Set catches that.)
    if (unchanged && collected.length === previous.entries.size && previous !== EMPTY_KIND && new Set(collected).size === collected.length) {
      return previous;
    }
    // Translation hands over lists sorted by name: sorting them again would cost more than the rest.
    if (!sortedByName(collected)) collected.sort((a, b) => compareText(a.name, b.name));
    const entries = new Map<string, ResourceEntry>();
    for (const e of collected) {
      if (entries.has(e.name)) {
        errors.push(...rejected(kind, e.name, e.sources, `duplicate ${kind} name "${e.name}"`));
        continue;
      }
      entries.set(e.name, e);
    }
    return { entries, version: digestOf(entries.values()) };
  }

  private entryFor<K extends ResourceKind>(kind: K, res: DesiredResource<K>, previous: KindSnapshot, errors: Diagnostic[]): ResourceEntry | undefined {
    const sources = res.sources ?? [];
    const known = this.byObject.get(res.message);
    if (known && known.kind === kind && known.name === res.name && sameList(known.sources, sources)) {
      const key = this.keys.get(known);
      if (key !== undefined && !this.interned.has(key)) this.interned.set(key, { entry: known, refs: 0 });
      return known;
    }
    const content = `${kind}\0${res.name}\0${createHash('sha1').update(JSON.stringify(res.message)).digest('base64')}`;
    const key = `${content}\0${sources.map(formatRef).join('\0')}`;
    const hit = this.interned.get(key);
    if (hit) {
      this.byObject.set(res.message, hit.entry);
      return hit.entry;
    }
    try {
      // The same content from other sources (the inbound listener of another pod of the same ports) has the same bytes.
      const same = this.byContent.get(content);
      const entry = same === undefined ? encodeEntry(kind, res.name, res.message, sources) : { ...same, sources };
      if (same === undefined) {
        this.encodes++;
        this.byContent.set(content, entry);
      }
      this.interned.set(key, { entry, refs: 0 });
      this.keys.set(entry, key);
      this.contents.set(entry, content);
      this.byObject.set(res.message, entry);
      return entry;
    } catch (err) {
      const message = err instanceof EncodeError ? err.message : String(err);
      errors.push(...rejected(kind, res.name, sources, message));
      return previous.entries.get(res.name);
    }
  }

  private readonly keys = new WeakMap<ResourceEntry, string>();
  /** An entry of each content (kind, name, message) held, whatever its sources, and each entry's content key. */
  private readonly byContent = new Map<string, ResourceEntry>();
  private readonly contents = new WeakMap<ResourceEntry, string>();

  /** Counts one more snapshot holding each entry (an entry no longer interned is interned again). */
  private retain(entries: Iterable<ResourceEntry>): void {
    for (const e of entries) {
      const key = this.keys.get(e);
      if (key === undefined) continue;
      let slot = this.interned.get(key);
      if (!slot) {
        slot = { entry: e, refs: 0 };
        this.interned.set(key, slot);
      }
      slot.refs += 1;
    }
  }

  private release(entries: Iterable<ResourceEntry>): void {
    for (const e of entries) {
      const key = this.keys.get(e);
      if (key === undefined) continue;
      const slot = this.interned.get(key);
      if (!slot) continue;
      slot.refs -= 1;
      if (slot.refs > 0) continue;
      this.interned.delete(key);
      const content = this.contents.get(e);
      if (content !== undefined && this.byContent.get(content) === e) this.byContent.delete(content);
    }
  }

  private emit(change: SnapshotChange): void {
    for (const l of this.listeners) l(change);
  }

  /** For tests and the debug endpoint: forget object identities (forces content comparison). */
  resetObjectMemo(): void {
    this.byObject = new WeakMap();
    this.builds = new WeakMap();
    this.made = new Map();
  }
}

function sameList(a: readonly ObjectRef[], b: readonly ObjectRef[]): boolean {
  return (
    a.length === b.length &&
    a.every((v, i) => {
      const w = b[i];
      return w !== undefined && (v === w || sameRef(v, w));
    })
  );
}
