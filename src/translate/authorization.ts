/**
 * Authorization (TrafficPolicy `spec.authorization`, resolved by model/authorization.ts) as RBAC
 * rules (envoy.config.rbac.v3.RBAC), for one workload port: what its proxy enforces, inbound.
 *
 * A workload port is reached through the service ports that target it; every accepted policy
 * attached to one of them applies there. Two sets of rules come out of them:
 *
 *   deny    action DENY, a policy per DENY rule that applies to the port; absent when none does
 *   allow   action ALLOW, a policy per ALLOW rule that applies; present as soon as an ALLOW policy
 *           is attached, even when none of its rules applies here: an ALLOW with no matching policy
 *           refuses everything (Envoy: "If present and empty, DENY"; gRPC the same)
 *
 * They become two RBAC filters, DENY first (filters/authorization.ts for HTTP ports; TCP ports get
 * the RBAC network filter before tcp_proxy, listeners-inbound.ts). Each rule becomes one RBAC policy
 * named `<namespace>/<policy>/rules[<i>]`:
 *
 *   principals    one per `from` entry (any caller when there is none): the entry's identities
 *                 (authenticated principal_name, exact; prefix for a trailing `*`) AND its namespaces
 *                 (principal_name prefix `spiffe://<trust-domain>/ns/<namespace>/`), values OR'ed.
 *                 Envoy and gRPC both match principal_name against the URI SAN of the peer's
 *                 certificate; a plaintext caller has none and matches no principal.
 *   permissions   one per `to` entry that applies to the port (any request when the rule has none):
 *                 its paths (url_path, the path without the query: exact; PathPrefix as Gateway API
 *                 says, `/api` is `/api` or a prefix `/api/`) AND its methods (header `:method`).
 *                 `ports` name service ports: an entry applies where one of them targets the
 *                 workload port, and then says nothing more (the chain is per port already). A rule
 *                 whose every `to` entry names other ports does not apply to the port at all.
 */
import { compareRefs, formatRef, type Diagnostic, type ObjectRef, sortedRefs } from '../diagnostics.js';
import { namespacePrefix } from '../model/authorization.js';
import type { AuthorizationRule, ModelAuthorization } from '../model/types.js';
import type { PortContext } from './policy/types.js';
import { translationError } from './translation.js';

type AuthorizationFrom = NonNullable<AuthorizationRule['from']>[number];
type AuthorizationTo = NonNullable<AuthorizationRule['to']>[number];

/** envoy.type.matcher.v3.StringMatcher, as Trellis sets it. */
export type StringMatcher = { readonly exact: string } | { readonly prefix: string };

/** envoy.config.rbac.v3.Principal, the identifiers Trellis sets. */
export type Principal =
  | { readonly any: true }
  | { readonly authenticated: { readonly principal_name: StringMatcher } }
  | { readonly and_ids: { readonly ids: readonly Principal[] } }
  | { readonly or_ids: { readonly ids: readonly Principal[] } };

/** envoy.config.rbac.v3.Permission, the rules Trellis sets. */
export type Permission =
  | { readonly any: true }
  | { readonly url_path: { readonly path: StringMatcher } }
  | { readonly header: { readonly name: ':method'; readonly string_match: { readonly exact: string } } }
  | { readonly and_rules: { readonly rules: readonly Permission[] } }
  | { readonly or_rules: { readonly rules: readonly Permission[] } };

/** envoy.config.rbac.v3.Policy */
export interface RbacPolicy {
  readonly permissions: readonly Permission[];
  readonly principals: readonly Principal[];
}

/** envoy.config.rbac.v3.RBAC, as Trellis sets it: an action and its policies, by name (inserted sorted). */
export interface RbacRules {
  readonly action: 'ALLOW' | 'DENY';
  readonly policies: Readonly<Record<string, RbacPolicy>>;
}

/** What a workload port enforces: the DENY rules (absent: none), the ALLOW rules (absent: no ALLOW policy applies). */
export interface PortAuthorization {
  readonly deny?: RbacRules;
  readonly allow?: RbacRules;
  /** The policies that shaped it (a NACK of a resource holding it is traced to them). */
  readonly sources: readonly ObjectRef[];
  /** What could not be enforced as written (translation errors on the policies). */
  readonly errors: readonly Diagnostic[];
}

const ANY = { any: true } as const;

/** One of several (none: `none`), without a set around a single one. */
function oneOf<T>(items: readonly T[], set: (items: readonly T[]) => T): T | undefined {
  if (items.length <= 1) return items[0];
  return set(items);
}

function identityMatcher(identity: string): StringMatcher {
  return identity.endsWith('*') ? { prefix: identity.slice(0, -1) } : { exact: identity };
}

const authenticated = (principal_name: StringMatcher): Principal => ({ authenticated: { principal_name } });
const orIds = (ids: readonly Principal[]): Principal => ({ or_ids: { ids } });

function principal(entry: AuthorizationFrom, trustDomain: string): Principal {
  const parts = [
    oneOf(
      (entry.identities ?? []).map((id) => authenticated(identityMatcher(id))),
      orIds,
    ),
    oneOf(
      (entry.namespaces ?? []).map((ns) => authenticated({ prefix: namespacePrefix(trustDomain, ns) })),
      orIds,
    ),
  ].filter((p): p is Principal => p !== undefined);
  return oneOf(parts, (ids) => ({ and_ids: { ids } })) ?? ANY;
}

const orRules = (rules: readonly Permission[]): Permission => ({ or_rules: { rules } });
const urlPath = (path: StringMatcher): Permission => ({ url_path: { path } });

/** A path condition: exact, or a PathPrefix with Gateway API semantics (whole segments). */
function pathPermissions(p: NonNullable<AuthorizationTo['paths']>[number]): Permission[] {
  if (p.type === 'Exact') return [urlPath({ exact: p.value })];
  const prefix = p.value.replace(/\/+$/, '');
  if (prefix === '') return [urlPath({ prefix: '/' })];
  return [urlPath({ exact: prefix }), urlPath({ prefix: `${prefix}/` })];
}

/** The permission of one `to` entry on a port: its paths AND its methods; `ports` were settled by the caller. */
function permission(entry: AuthorizationTo, http: boolean): Permission {
  if (!http) return ANY;
  const parts = [
    oneOf((entry.paths ?? []).flatMap(pathPermissions), orRules),
    oneOf(
      (entry.methods ?? []).map((exact): Permission => ({ header: { name: ':method', string_match: { exact } } })),
      orRules,
    ),
  ].filter((p): p is Permission => p !== undefined);
  return oneOf(parts, (rules) => ({ and_rules: { rules } })) ?? ANY;
}

/** One policy's authorization on a workload port, with the service ports through which it applies there. */
interface Applied {
  readonly authorization: ModelAuthorization;
  readonly ports: ReadonlySet<number>;
}

/** The authorizations of the service ports targeting a workload port, one per policy. */
function applied(services: readonly PortContext[]): Applied[] {
  const byPolicy = new Map<string, { authorization: ModelAuthorization; ports: Set<number> }>();
  for (const ctx of services) {
    for (const a of ctx.port.authorization ?? []) {
      const key = formatRef(a.policy);
      const entry = byPolicy.get(key) ?? { authorization: a, ports: new Set<number>() };
      entry.ports.add(ctx.port.port);
      byPolicy.set(key, entry);
    }
  }
  return [...byPolicy.values()].sort((a, b) => compareRefs(a.authorization.policy, b.authorization.policy));
}

interface RuleContext {
  readonly trustDomain: string;
  /** The workload port's traffic is HTTP (paths and methods can be matched). */
  readonly http: boolean;
  /** Where the port is, for messages: `port 5432 of Pod shop/db-0`. */
  readonly where: string;
  readonly errors: Diagnostic[];
}

/**
 * The `to` entries of a rule that apply through `ports`. On a port that is not HTTP (the model
 * refuses paths and methods on TCP service ports; a workload port two services declare with
 * different protocols can still get here) such an entry cannot be matched: a DENY refuses the whole
 * port instead, an ALLOW leaves the entry out — never less refused than asked — and it is an error.
 */
function applicableTo(a: Applied, rule: AuthorizationRule, i: number, ctx: RuleContext): AuthorizationTo[] {
  const entries = (rule.to ?? []).filter((e) => e.ports === undefined || e.ports.some((p) => a.ports.has(p)));
  if (ctx.http) return entries;
  return entries.flatMap((e, j): AuthorizationTo[] => {
    if (e.paths === undefined && e.methods === undefined) return [e];
    const deny = a.authorization.action === 'DENY';
    const what = deny ? 'the entry refuses every request to the port' : 'the entry is left out';
    ctx.errors.push(
      translationError(
        a.authorization.policy,
        `spec.authorization.rules[${i}].to[${j}]`,
        `${ctx.where} is handled as TCP: paths and methods cannot be matched there, and ${what}`,
      ),
    );
    return deny ? [{ ports: [...a.ports] }] : [];
  });
}

/** The RBAC policy of one rule on the port; undefined when the rule does not apply to it. */
function rbacPolicy(a: Applied, rule: AuthorizationRule, i: number, ctx: RuleContext): RbacPolicy | undefined {
  const saysTo = (rule.to ?? []).length > 0;
  const to = applicableTo(a, rule, i, ctx);
  if (saysTo && to.length === 0) return undefined;
  const permissions = to.map((e) => permission(e, ctx.http));
  const principals = (rule.from ?? []).map((e) => principal(e, ctx.trustDomain));
  return {
    permissions: permissions.length === 0 || permissions.some((p) => 'any' in p) ? [ANY] : permissions,
    principals: principals.length === 0 || principals.some((p) => 'any' in p) ? [ANY] : principals,
  };
}

function rulesOf(list: readonly Applied[], ctx: RuleContext): Record<string, RbacPolicy> {
  const policies: Record<string, RbacPolicy> = {};
  for (const a of list) {
    const { policy, rules } = a.authorization;
    rules.forEach((rule, i) => {
      const p = rbacPolicy(a, rule, i, ctx);
      if (p) policies[`${policy.namespace ?? ''}/${policy.name}/rules[${i}]`] = p;
    });
  }
  return policies;
}

/**
 * What a workload port enforces, from the service ports that target it (`services`); undefined when
 * no policy with authorization applies there. `http`: the port's traffic is HTTP; `where` names the
 * port in messages.
 */
export function portAuthorization(services: readonly PortContext[], trustDomain: string, http: boolean, where: string): PortAuthorization | undefined {
  const all = applied(services);
  if (all.length === 0) return undefined;
  const errors: Diagnostic[] = [];
  const ctx: RuleContext = { trustDomain, http, where, errors };
  const denying = all.filter((a) => a.authorization.action === 'DENY');
  const allowing = all.filter((a) => a.authorization.action === 'ALLOW');
  const deny = rulesOf(denying, ctx);
  return {
    ...(Object.keys(deny).length > 0 ? { deny: { action: 'DENY', policies: deny } } : {}),
    ...(allowing.length > 0 ? { allow: { action: 'ALLOW', policies: rulesOf(allowing, ctx) } } : {}),
    sources: sortedRefs(all.map((a) => a.authorization.policy)),
    errors,
  };
}

/** The policies whose authorization applies through these service ports (for a resource's sources). */
export function authorizationSources(services: readonly PortContext[]): ObjectRef[] {
  return sortedRefs(services.flatMap((s) => (s.port.authorization ?? []).map((a) => a.policy)));
}

/** Whether any rule of the authorizations through these service ports matches paths. */
export function matchesPaths(services: readonly PortContext[]): boolean {
  return services.some((s) => (s.port.authorization ?? []).some((a) => a.rules.some((r) => (r.to ?? []).some((t) => t.paths !== undefined))));
}

/** Whether any rule of the authorizations through these service ports names callers (identities or namespaces). */
export function namesCallers(services: readonly PortContext[]): boolean {
  return services.some((s) => (s.port.authorization ?? []).some((a) => a.rules.some((r) => (r.from ?? []).length > 0)));
}
