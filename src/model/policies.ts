/**
 * TrafficPolicies in the model: each policy's spec is validated (an invalid one keeps its last good
 * version in force), its targetRefs are resolved to service ports, and the policies on each port
 * are merged (src/policy/merge.ts). Every policy gets its Accepted condition, and Conflicted when
 * it lost fields to an older one.
 */
import { compareRefs, formatRef, refOf, type Diagnostic, type Diagnostics, type ObjectRef } from '../diagnostics.js';
import { mergePolicies, type LostField, type MergeCandidate, type MergedPolicy } from '../policy/merge.js';
import type { PolicySettings, TargetRef, TrafficPolicySpec } from '../policy/schema.js';
import { validateSpec } from '../policy/validate.js';
import type { Input, TrafficPolicyObject } from './inputs.js';
import { checkPolicies, partiallyInvalidCondition, type PartProblem } from './policy-checks.js';
import { mtlsProblems } from './mtls.js';
import { portsText, resolveAllRoutes, resolvedRefsCondition, servicePortRef, type ReferenceIndex, type Unresolved } from './references.js';
import type { Condition, MeshModel, ModelPolicy, ModelService, MtlsSettings, ResolvedRule } from './types.js';

/** A field of a policy and what is wrong with it. */
interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export { servicePortRef };

interface Resolved {
  readonly input: Input<TrafficPolicyObject>;
  readonly source: ObjectRef;
  readonly inForce?: ModelPolicy['inForce'];
  readonly invalid: readonly Diagnostic[];
  readonly attachedTo: string[];
  readonly missing: FieldProblem[];
}

function settingsOf(spec: TrafficPolicySpec): PolicySettings {
  const { targetRefs: _targets, ...settings } = spec;
  return settings;
}

/** The spec in force: the object's own when valid, else the previous model's for the same object. */
function specInForce(input: Input<TrafficPolicyObject>, source: ObjectRef, previous: ReadonlyMap<string, ModelPolicy>): Pick<Resolved, 'inForce' | 'invalid'> {
  const meta = input.object.metadata;
  const result = validateSpec(input.object.spec);
  if (result.ok) return { inForce: { ...(meta.generation !== undefined ? { generation: meta.generation } : {}), spec: result.spec }, invalid: [] };
  const before = previous.get(formatRef(source));
  const sameObject = before !== undefined && (before.uid === undefined || meta.uid === undefined || before.uid === meta.uid);
  return { ...(sameObject && before.inForce ? { inForce: before.inForce } : {}), invalid: result.errors };
}

/** The service ports one targetRef names, or why it names none. */
function resolveTarget(ref: TargetRef, namespace: string, services: ReadonlyMap<string, ModelService>): { ports: string[] } | { error: string } {
  const service = services.get(`${namespace}/${ref.name}`);
  if (!service) return { error: `Service ${namespace}/${ref.name} not found` };
  const ports = service.ports.filter((p) => (ref.port === undefined || p.port === ref.port) && (ref.sectionName === undefined || p.name === ref.sectionName));
  if (ports.length === 0) {
    const which = ref.port !== undefined ? `port ${ref.port}` : ref.sectionName !== undefined ? `port named "${ref.sectionName}"` : 'ports';
    return { error: `Service ${namespace}/${ref.name} has no ${which}: ${portsText(service)}` };
  }
  return { ports: ports.map((p) => servicePortRef(namespace, service.name, p.port)) };
}

function resolve(input: Input<TrafficPolicyObject>, services: ReadonlyMap<string, ModelService>, previous: ReadonlyMap<string, ModelPolicy>): Resolved {
  const meta = input.object.metadata;
  const source = refOf('TrafficPolicy', meta);
  const { inForce, invalid } = specInForce(input, source, previous);
  const attachedTo = new Set<string>();
  const missing: FieldProblem[] = [];
  inForce?.spec.targetRefs.forEach((ref, i) => {
    const r = resolveTarget(ref, meta.namespace, services);
    if ('error' in r) missing.push({ field: `spec.targetRefs[${i}]`, message: r.error });
    else for (const p of r.ports) attachedTo.add(p);
  });
  return { input, source, ...(inForce ? { inForce } : {}), invalid, attachedTo: [...attachedTo].sort(), missing };
}

/** Oldest first: creationTimestamp, then namespace/name. */
function mergeOrder(a: Resolved, b: Resolved): number {
  const ka = [a.input.object.metadata.creationTimestamp ?? '', formatRef(a.source)] as const;
  const kb = [b.input.object.metadata.creationTimestamp ?? '', formatRef(b.source)] as const;
  return ka[0] !== kb[0] ? (ka[0] < kb[0] ? -1 : 1) : ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0;
}

function acceptedCondition(r: Resolved): Condition {
  if (r.invalid.length > 0) {
    const what = r.invalid.map((e) => `${e.field}: ${e.message}`).join('; ');
    const kept = r.inForce
      ? `the last good version${r.inForce.generation !== undefined ? ` (generation ${r.inForce.generation})` : ''} stays in force`
      : 'it changes nothing';
    return { type: 'Accepted', status: 'False', reason: 'Invalid', message: `${what}; ${kept}` };
  }
  if (r.attachedTo.length === 0) {
    return { type: 'Accepted', status: 'False', reason: 'TargetNotFound', message: r.missing.map((m) => `${m.field}: ${m.message}`).join('; ') || 'no target' };
  }
  const missing = r.missing.length > 0 ? `; ${r.missing.map((m) => `${m.field}: ${m.message}`).join('; ')}` : '';
  return { type: 'Accepted', status: 'True', reason: 'Accepted', message: `attached to ${r.attachedTo.join(', ')}${missing}` };
}

function conflictedCondition(lost: readonly LostField[]): Condition | undefined {
  if (lost.length === 0) return undefined;
  const byWinner = new Map<string, Set<string>>();
  for (const l of lost) byWinner.set(formatRef(l.winner), (byWinner.get(formatRef(l.winner)) ?? new Set()).add(l.field));
  const parts = [...byWinner.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([winner, fields]) => `${[...fields].sort().join(', ')} (set by the older ${winner})`);
  return { type: 'Conflicted', status: 'True', reason: 'Conflicted', message: `fields not applied: ${parts.join('; ')}` };
}

function report(r: Resolved, sink: Diagnostics): void {
  const origin = r.input.origin;
  for (const e of r.invalid) sink.error(r.source, origin, e.field, e.message);
  for (const m of r.missing) sink[r.attachedTo.length === 0 && r.invalid.length === 0 ? 'error' : 'warn'](r.source, origin, m.field, m.message);
}

function groupByPolicy<T extends { readonly policy: ObjectRef }>(list: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const p of list) out.set(formatRef(p.policy), [...(out.get(formatRef(p.policy)) ?? []), p]);
  return out;
}

export interface PolicyResolution {
  readonly policies: ModelPolicy[];
  /** By `Service namespace/name:port`. */
  readonly byPort: ReadonlyMap<string, MergedPolicy>;
  /** What the routes of each port's policy send to, by `Service namespace/name:port`. */
  readonly routes: ReadonlyMap<string, readonly ResolvedRule[]>;
}

/** The Programmed verdict of a policy some of whose parts can never be programmed here (model/mtls.ts). */
function unprogrammable(parts: readonly PartProblem[]): Pick<ModelPolicy, 'unprogrammable'> {
  const blocking = parts.find((p) => p.blocksProgrammed !== undefined);
  return blocking?.blocksProgrammed ? { unprogrammable: { reason: blocking.blocksProgrammed, message: `${blocking.field}: ${blocking.message}` } } : {};
}

/**
 * Resolves and merges the policies; `previous` is the last model, whose specs in force outlive
 * invalid edits; `mtls`: the model's mutual TLS (absent: off).
 */
export function resolvePolicies(
  inputs: readonly Input<TrafficPolicyObject>[],
  services: readonly ModelService[],
  previous: MeshModel | undefined,
  sink: Diagnostics,
  podLabels: ReferenceIndex['podLabels'] = new Map(),
  mtls?: MtlsSettings,
): PolicyResolution {
  const serviceIndex = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const previousIndex = new Map((previous?.policies ?? []).map((p) => [formatRef(p.source), p]));
  const resolved = inputs.map((i) => resolve(i, serviceIndex, previousIndex));
  const candidates = new Map<string, MergeCandidate[]>();
  for (const r of [...resolved].sort(mergeOrder)) {
    if (!r.inForce) continue;
    const settings = settingsOf(r.inForce.spec);
    for (const port of r.attachedTo) candidates.set(port, [...(candidates.get(port) ?? []), { ref: r.source, settings }]);
  }
  const byPort = new Map<string, MergedPolicy>();
  const lost = new Map<string, LostField[]>();
  for (const [port, list] of candidates) {
    const m = mergePolicies(list);
    byPort.set(port, m.merged);
    for (const l of m.lost) lost.set(formatRef(l.loser), [...(lost.get(formatRef(l.loser)) ?? []), l]);
  }
  const { routes, problems } = resolveAllRoutes(services, byPort, podLabels);
  const unresolved = groupByPolicy<Unresolved>(problems);
  const policyOf = (s: ModelService, p: { readonly port: number }) => byPort.get(servicePortRef(s.namespace, s.name, p.port));
  const unusable = groupByPolicy<PartProblem>([...checkPolicies(services, policyOf), ...mtlsProblems(services, policyOf, mtls)]);
  const policies = resolved.map((r): ModelPolicy => {
    report(r, sink);
    const refs = unresolved.get(formatRef(r.source)) ?? [];
    for (const p of refs) sink[p.severity === 'error' ? 'error' : 'warn'](r.source, r.input.origin, p.field, p.message);
    const parts = unusable.get(formatRef(r.source)) ?? [];
    for (const p of parts) sink[p.severity === 'error' ? 'error' : 'warn'](r.source, r.input.origin, p.field, p.message);
    const partial = partiallyInvalidCondition(parts);
    const conflicted = conflictedCondition(lost.get(formatRef(r.source)) ?? []);
    if (conflicted) sink.warn(r.source, r.input.origin, 'spec', conflicted.message);
    const meta = r.input.object.metadata;
    return {
      namespace: meta.namespace,
      name: meta.name,
      source: r.source,
      ...(Object.keys(r.input.origin).length > 0 ? { origin: r.input.origin } : {}),
      ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
      ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
      ...(r.inForce ? { inForce: r.inForce } : {}),
      attachedTo: r.attachedTo,
      conditions: [
        acceptedCondition(r),
        ...(r.inForce && r.attachedTo.length > 0 ? [resolvedRefsCondition(refs)] : []),
        ...(partial ? [partial] : []),
        ...(conflicted ? [conflicted] : []),
      ],
      ...unprogrammable(parts),
    };
  });
  policies.sort((a, b) => compareRefs(a.source, b.source));
  return { policies, byPort, routes };
}

/** The services with the merged policy of each port (and its resolved routes) attached; the same objects where none applies. */
export function withPolicies(services: readonly ModelService[], { byPort, routes }: Pick<PolicyResolution, 'byPort' | 'routes'>): ModelService[] {
  if (byPort.size === 0) return [...services];
  return services.map((s) => {
    if (!s.ports.some((p) => byPort.has(servicePortRef(s.namespace, s.name, p.port)))) return s;
    return {
      ...s,
      ports: s.ports.map((p) => {
        const key = servicePortRef(s.namespace, s.name, p.port);
        const policy = byPort.get(key);
        const resolved = routes.get(key);
        return policy ? { ...p, policy, ...(resolved ? { routes: resolved } : {}) } : p;
      }),
    };
  });
}
