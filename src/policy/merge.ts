/**
 * Merge rules: several TrafficPolicies may target the same Service port. The oldest
 * (creationTimestamp, then namespace/name) wins field by field; a younger policy keeps the fields
 * no older policy set, and is told (Conflicted) about the ones it lost.
 *
 * The unit of merging is a field of a section (`timeouts.request`, `retries.attempts`), except where
 * fields only make sense together: those are merged as one unit (COUPLED), so that a merge never
 * yields a combination neither policy asked for (a ring hash without its hash key, say).
 *
 * `authorization` is not merged at all: every accepted policy's authorization applies to the ports
 * it attaches to, side by side (DENY before ALLOW), and the model collects them apart
 * (src/model/authorization.ts). A merged policy never holds it, and no policy loses it to another.
 */
import { compareRefs, compareText, formatRef, sameRef, type ObjectRef } from '../diagnostics.js';
import type { PolicySection, PolicySettings } from './schema.js';

/** Fields merged as one unit, by section; the first field names the unit. */
const COUPLED: Partial<Record<PolicySection, readonly (readonly string[])[]>> = {
  loadBalancing: [
    ['algorithm', 'hash'],
    ['localityAware', 'failover'],
  ],
  retries: [['retryOn', 'retriableStatusCodes']],
};

/** Sections that are not merged: each policy's applies (see above). */
export const NOT_MERGED: ReadonlySet<PolicySection> = new Set(['authorization']);

/** What a merged policy holds: every section but those NOT_MERGED. */
export type MergedSettings = Omit<PolicySettings, 'authorization'>;

/** The fields merged together with `field` of `section` (itself included). */
export function mergeUnit(section: PolicySection, field: string): readonly string[] {
  return COUPLED[section]?.find((unit) => unit.includes(field)) ?? [field];
}

/** A policy and its settings, in merge order (oldest first). */
export interface MergeCandidate {
  readonly ref: ObjectRef;
  readonly settings: PolicySettings;
}

export interface MergedPolicy {
  readonly settings: MergedSettings;
  /** Each field set (`retries.attempts`) → the policy it came from. Sorted by field. */
  readonly origins: Readonly<Record<string, ObjectRef>>;
}

/** A field a policy set but lost to an older one. */
export interface LostField {
  readonly loser: ObjectRef;
  /** `retries.attempts` */
  readonly field: string;
  readonly winner: ObjectRef;
}

type Section = Record<string, unknown>;

/** Merges candidates, oldest first; returns the settings in force and what the younger ones lost. */
export function mergePolicies(candidates: readonly MergeCandidate[]): { merged: MergedPolicy; lost: LostField[] } {
  const settings: Record<string, Section> = {};
  const origins: Record<string, ObjectRef> = {};
  const lost: LostField[] = [];
  for (const { ref, settings: own } of candidates) {
    for (const [section, value] of Object.entries(own) as [PolicySection, Section | undefined][]) {
      if (value === undefined || NOT_MERGED.has(section)) continue;
      const target = (settings[section] ??= {});
      for (const field of Object.keys(value)) {
        if (value[field] === undefined) continue;
        const path = `${section}.${field}`;
        const winner = origins[path];
        if (winner === undefined) {
          for (const f of mergeUnit(section, field)) {
            if (value[f] !== undefined) {
              target[f] = value[f];
              origins[`${section}.${f}`] = ref;
            } else {
              // The unit is this policy's: a coupled field it left unset stays unset.
              origins[`${section}.${f}`] ??= ref;
            }
          }
        } else if (!sameRef(winner, ref)) {
          lost.push({ loser: ref, field: path, winner });
        }
      }
    }
  }
  // Coupled fields claimed but unset carry an origin without a value: keep only fields that are set.
  const sortedOrigins = Object.fromEntries(
    Object.entries(origins)
      .filter(([path]) => {
        const [section, field] = path.split('.') as [string, string];
        return settings[section]?.[field] !== undefined;
      })
      .sort(([a], [b]) => compareText(a, b)),
  );
  return { merged: { settings, origins: sortedOrigins }, lost };
}

/** The policies that set anything of `section`, sorted. */
export function sectionSources(policy: MergedPolicy | undefined, ...sections: readonly PolicySection[]): ObjectRef[] {
  return fieldSources(policy, ...sections.map((s) => `${s}.*`));
}

/**
 * The policies that set any of `fields`, sorted: `section.field`, or `section.*` for all of a
 * section (`connectionPool.*`, `timeouts.connect`).
 */
export function fieldSources(policy: MergedPolicy | undefined, ...fields: readonly string[]): ObjectRef[] {
  if (!policy) return [];
  const refs = new Map<string, ObjectRef>();
  for (const [path, ref] of Object.entries(policy.origins)) {
    if (fields.some((f) => (f.endsWith('.*') ? path.startsWith(f.slice(0, -1)) : path === f))) refs.set(formatRef(ref), ref);
  }
  return [...refs.values()].sort(compareRefs);
}
