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
import {
  authorizationErrors,
  authorizationProblems,
  authorizationsByPort,
  type AttachedAuthorization,
  type AttachedPort,
  type FieldProblem,
} from './authorization.js';
import type { Condition, MeshModel, ModelAuthorization, ModelPolicy, ModelService, MtlsSettings, ResolvedRule } from './types.js';

export { servicePortRef };

interface Resolved {
  readonly input: Input<TrafficPolicyObject>;
  readonly source: ObjectRef;
  readonly inForce?: ModelPolicy['inForce'];
  readonly invalid: readonly Diagnostic[];
  readonly attachedTo: string[];
  /** The services of `attachedTo`. */
  readonly targets: readonly ModelService[];
  readonly missing: FieldProblem[];
}

/** What is merged of a spec: everything but where it attaches and its authorization (never merged). */
function settingsOf(spec: TrafficPolicySpec): PolicySettings {
  const { targetRefs: _targets, authorization: _authorization, ...settings } = spec;
  return settings;
}

type InForce = NonNullable<ModelPolicy['inForce']>;

/** What resolution looks up: the services by `namespace/name`, the previous model's policies, the trust domain. */
interface ResolveContext {
  readonly services: ReadonlyMap<string, ModelService>;
  readonly previous: ReadonlyMap<string, ModelPolicy>;
  readonly trustDomain: string;
}

/** The service ports one targetRef names, or why it names none. */
function resolveTarget(ref: TargetRef, namespace: string, services: ReadonlyMap<string, ModelService>): { ports: AttachedPort[] } | { error: string } {
  const service = services.get(`${namespace}/${ref.name}`);
  if (!service) return { error: `Service ${namespace}/${ref.name} not found` };
  const ports = service.ports.filter((p) => (ref.port === undefined || p.port === ref.port) && (ref.sectionName === undefined || p.name === ref.sectionName));
  if (ports.length === 0) {
    const which = ref.port !== undefined ? `port ${ref.port}` : ref.sectionName !== undefined ? `port named "${ref.sectionName}"` : 'ports';
    return { error: `Service ${namespace}/${ref.name} has no ${which}: ${portsText(service)}` };
  }
  return { ports: ports.map((port) => ({ service, port })) };
}

/** Where a spec attaches (sorted, without duplicates), what it names that is missing, and what of it is invalid there. */
function attach(
  spec: TrafficPolicySpec,
  namespace: string,
  ctx: ResolveContext,
): Pick<Resolved, 'attachedTo' | 'targets' | 'missing'> & { errors: FieldProblem[] } {
  const attached = new Map<string, AttachedPort>();
  const missing: FieldProblem[] = [];
  spec.targetRefs.forEach((ref, i) => {
    const r = resolveTarget(ref, namespace, ctx.services);
    if ('error' in r) missing.push({ field: `spec.targetRefs[${i}]`, message: r.error });
    else for (const a of r.ports) attached.set(servicePortRef(namespace, a.service.name, a.port.port), a);
  });
  const attachedTo = [...attached.keys()].sort();
  const ports = attachedTo.flatMap((k) => attached.get(k) ?? []);
  return { attachedTo, targets: [...new Set(ports.map((p) => p.service))], missing, errors: authorizationErrors(spec, ports, ctx.trustDomain) };
}

/**
 * The spec in force and where it attaches: the object's own when it is valid here (its schema, and
 * what only the model can check: authorization.ts); else the previous model's for the same object,
 * when that one still holds here; else none.
 */
function resolve(input: Input<TrafficPolicyObject>, ctx: ResolveContext): Resolved {
  const meta = input.object.metadata;
  const source = refOf('TrafficPolicy', meta);
  const result = validateSpec(input.object.spec);
  let invalid: readonly Diagnostic[] = result.ok ? [] : result.errors;
  if (result.ok) {
    const own: InForce = { ...(meta.generation !== undefined ? { generation: meta.generation } : {}), spec: result.spec };
    const at = attach(own.spec, meta.namespace, ctx);
    if (at.errors.length === 0) return { input, source, inForce: own, invalid, attachedTo: at.attachedTo, targets: at.targets, missing: at.missing };
    invalid = at.errors.map((e) => ({ severity: 'error' as const, field: e.field, message: e.message }));
  }
  const before = ctx.previous.get(formatRef(source));
  const sameObject = before !== undefined && (before.uid === undefined || meta.uid === undefined || before.uid === meta.uid);
  if (sameObject && before.inForce) {
    const at = attach(before.inForce.spec, meta.namespace, ctx);
    if (at.errors.length === 0) return { input, source, inForce: before.inForce, invalid, attachedTo: at.attachedTo, targets: at.targets, missing: at.missing };
  }
  return { input, source, invalid, attachedTo: [], targets: [], missing: [] };
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
  /** Every accepted policy's authorization on each port, by `Service namespace/name:port` (never merged). */
  readonly authorization: ReadonlyMap<string, readonly ModelAuthorization[]>;
}

/** What resolving the policies needs besides them and the services. */
export interface PolicyContext {
  /** The labels of each pod (`namespace/name`), for route subsets. */
  readonly podLabels?: ReferenceIndex['podLabels'];
  /** The model's mutual TLS (absent: off, no workload certificates). */
  readonly mtls?: MtlsSettings;
  /** The SPIFFE trust domain of workload identities. */
  readonly trustDomain: string;
}

/** The Programmed verdict of a policy some of whose parts can never be programmed here (model/mtls.ts, model/authorization.ts). */
function unprogrammable(parts: readonly PartProblem[]): Pick<ModelPolicy, 'unprogrammable'> {
  const blocking = parts.find((p) => p.blocksProgrammed !== undefined);
  return blocking?.blocksProgrammed ? { unprogrammable: { reason: blocking.blocksProgrammed, message: `${blocking.field}: ${blocking.message}` } } : {};
}

/**
 * The merged policy of each port, from the policies in force, oldest first; and the fields each
 * younger policy lost, by policy. A policy that has nothing to merge (only authorization) is no
 * candidate.
 */
function mergeAll(resolved: readonly Resolved[]): { byPort: Map<string, MergedPolicy>; lost: Map<string, LostField[]> } {
  const candidates = new Map<string, MergeCandidate[]>();
  for (const r of [...resolved].sort(mergeOrder)) {
    if (!r.inForce) continue;
    const settings = settingsOf(r.inForce.spec);
    if (Object.keys(settings).length === 0 && r.inForce.spec.authorization) continue;
    for (const port of r.attachedTo) candidates.set(port, [...(candidates.get(port) ?? []), { ref: r.source, settings }]);
  }
  const byPort = new Map<string, MergedPolicy>();
  const lost = new Map<string, LostField[]>();
  for (const [port, list] of candidates) {
    const m = mergePolicies(list);
    byPort.set(port, m.merged);
    for (const l of m.lost) lost.set(formatRef(l.loser), [...(lost.get(formatRef(l.loser)) ?? []), l]);
  }
  return { byPort, lost };
}

/** The accepted policies with authorization, and where they attach. */
function withAuthorization(resolved: readonly Resolved[]): AttachedAuthorization[] {
  return resolved.flatMap((r) => {
    const authorization = r.inForce?.spec.authorization;
    return authorization && r.attachedTo.length > 0 ? [{ policy: r.source, authorization, attachedTo: r.attachedTo }] : [];
  });
}

/** What the policy looks like in the model, its problems reported to `sink`. */
function modelPolicy(
  r: Resolved,
  found: { refs: readonly Unresolved[]; parts: readonly PartProblem[]; lost: readonly LostField[] },
  sink: Diagnostics,
): ModelPolicy {
  report(r, sink);
  for (const p of [...found.refs, ...found.parts]) sink[p.severity === 'error' ? 'error' : 'warn'](r.source, r.input.origin, p.field, p.message);
  const partial = partiallyInvalidCondition(found.parts);
  const conflicted = conflictedCondition(found.lost);
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
      ...(r.inForce && r.attachedTo.length > 0 ? [resolvedRefsCondition(found.refs)] : []),
      ...(partial ? [partial] : []),
      ...(conflicted ? [conflicted] : []),
    ],
    ...unprogrammable(found.parts),
  };
}

/**
 * Resolves and merges the policies, and gathers their authorization; `previous` is the last model,
 * whose specs in force outlive invalid edits.
 */
export function resolvePolicies(
  inputs: readonly Input<TrafficPolicyObject>[],
  services: readonly ModelService[],
  previous: MeshModel | undefined,
  sink: Diagnostics,
  context: PolicyContext,
): PolicyResolution {
  const { mtls } = context;
  const ctx: ResolveContext = {
    services: new Map(services.map((s) => [`${s.namespace}/${s.name}`, s])),
    previous: new Map((previous?.policies ?? []).map((p) => [formatRef(p.source), p])),
    trustDomain: context.trustDomain,
  };
  const resolved = inputs.map((i) => resolve(i, ctx));
  const { byPort, lost } = mergeAll(resolved);
  // Only the services some policy attaches to have a merged policy: the rest need not be walked (in model order still).
  const targets = new Set(resolved.flatMap((r) => r.targets));
  const policied = targets.size === 0 ? [] : services.filter((s) => targets.has(s));
  const { routes, problems } = resolveAllRoutes(policied, byPort, { services: ctx.services, podLabels: context.podLabels ?? new Map() });
  const unresolved = groupByPolicy<Unresolved>(problems);
  const policyOf = (s: ModelService, p: { readonly port: number }) => byPort.get(servicePortRef(s.namespace, s.name, p.port));
  const authorized = withAuthorization(resolved);
  const modeOf = (port: string) => (mtls ? (byPort.get(port)?.settings.mtls?.mode ?? mtls.defaultMode) : undefined);
  const unusable = groupByPolicy<PartProblem>([
    ...checkPolicies(policied, policyOf),
    ...mtlsProblems(policied, policyOf, mtls),
    ...authorizationProblems(authorized, mtls, modeOf),
  ]);
  const policies = resolved.map((r) => {
    const key = formatRef(r.source);
    return modelPolicy(r, { refs: unresolved.get(key) ?? [], parts: unusable.get(key) ?? [], lost: lost.get(key) ?? [] }, sink);
  });
  policies.sort((a, b) => compareRefs(a.source, b.source));
  return { policies, byPort, routes, authorization: authorizationsByPort(authorized) };
}

/**
 * The services with the merged policy of each port (and its resolved routes) and its authorizations
 * attached; the same objects where none applies.
 */
export function withPolicies(
  services: readonly ModelService[],
  { byPort, routes, authorization }: Pick<PolicyResolution, 'byPort' | 'routes' | 'authorization'>,
): ModelService[] {
  if (byPort.size === 0 && authorization.size === 0) return [...services];
  const applies = (key: string) => byPort.has(key) || authorization.has(key);
  return services.map((s) => {
    if (!s.ports.some((p) => applies(servicePortRef(s.namespace, s.name, p.port)))) return s;
    return {
      ...s,
      ports: s.ports.map((p) => {
        const key = servicePortRef(s.namespace, s.name, p.port);
        const policy = byPort.get(key);
        const resolved = routes.get(key);
        const authz = authorization.get(key);
        if (!policy && !authz) return p;
        return {
          ...p,
          ...(policy ? { policy, ...(resolved ? { routes: resolved } : {}) } : {}),
          ...(authz ? { authorization: authz } : {}),
        };
      }),
    };
  });
}
