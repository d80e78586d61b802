/**
 * What a policy on a service port asks that the proxies cannot do, though the schema admits it: a
 * failover entry that names neither a region nor region/zone, a token bucket Envoy refuses
 * (src/policy/limits.ts). Each is an error on the policy that set the field; the part is left out
 * and the rest of the policy stays in force: the policy's PartiallyInvalid condition (Gateway API's
 * shape) says which parts.
 */
import { formatRef, type ObjectRef } from '../diagnostics.js';
import type { MergedPolicy } from '../policy/merge.js';
import { bucketAsks, bucketProblem, inPlace, modifiableHeader, parsePlace, prefixUnmatchable } from '../policy/limits.js';
import type { HttpRouteRule } from '../policy/schema.js';
import type { ModelService, ModelServicePort } from './types.js';

export interface PartProblem {
  readonly policy: ObjectRef;
  readonly field: string;
  readonly message: string;
  /** A warning changes nothing asked (a failover to a place with no endpoint today); only errors make PartiallyInvalid. */
  readonly severity: 'error' | 'warning';
  /** Set when the problem keeps the policy from ever being Programmed here: the Programmed reason (model/mtls.ts). */
  readonly blocksProgrammed?: string;
}

const FAILOVER = 'loadBalancing.failover';

/**
 * Each failover entry: both places must be a region or region/zone (else the entry is ignored);
 * a target no endpoint of the service is in today (while it has endpoints elsewhere) is a warning:
 * failing over there finds nothing.
 */
function failoverProblems(service: ModelService, policy: MergedPolicy): PartProblem[] {
  const endpoints = service.ports.flatMap((p) => p.endpoints);
  const owner = policy.origins[FAILOVER] ?? service.source;
  return (policy.settings.loadBalancing?.failover ?? []).flatMap((entry, i): PartProblem[] => {
    const bad = (['from', 'to'] as const).filter((side) => parsePlace(entry[side]) === undefined);
    if (bad.length > 0) {
      const message = (side: 'from' | 'to'): string => `"${entry[side]}" is not a region or region/zone: this failover entry is ignored`;
      return bad.map((side) => ({ policy: owner, field: `spec.${FAILOVER}[${i}].${side}`, message: message(side), severity: 'error' }));
    }
    const to = parsePlace(entry.to);
    if (!to || endpoints.length === 0 || endpoints.some((e) => inPlace(e.locality, to))) return [];
    const message = `no endpoint of ${formatRef(service.source)} is in ${entry.to}: failing over to it finds none today`;
    return [{ policy: owner, field: `spec.${FAILOVER}[${i}].to`, message, severity: 'warning' }];
  });
}

function bucketProblems(service: ModelService, port: ModelServicePort, policy: MergedPolicy): PartProblem[] {
  return bucketAsks(policy.settings).flatMap((ask) => {
    const problem = bucketProblem(ask.bucket);
    if (!problem) return [];
    const owner = policy.origins[ask.originKey] ?? service.source;
    return [
      {
        policy: owner,
        field: ask.field,
        message: `${problem}; requests to ${formatRef(service.source)}:${port.port} are not limited by it`,
        severity: 'error',
      },
    ];
  });
}

type HeaderChanges = NonNullable<HttpRouteRule['requestHeaders']>;

/** The header names of `c` with their fields (`requestHeaders.set[0].name`), relative to the rule. */
function headerNames(c: HeaderChanges | undefined, at: string): { name: string; field: string }[] {
  if (!c) return [];
  return [
    ...(c.set ?? []).map((h, k) => ({ name: h.name, field: `${at}.set[${k}].name` })),
    ...(c.add ?? []).map((h, k) => ({ name: h.name, field: `${at}.add[${k}].name` })),
    ...(c.remove ?? []).map((name, k) => ({ name, field: `${at}.remove[${k}]` })),
  ];
}

/** What Envoy would refuse of one routing rule: a prefix it cannot match on, a header a route may not change, a prefix rewrite of a regex match. */
function ruleProblems(rule: HttpRouteRule, path: string): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  (rule.matches ?? []).forEach((m, j) => {
    if (m.path?.type === 'PathPrefix' && prefixUnmatchable(m.path.value)) {
      out.push({ field: `${path}.matches[${j}].path.value`, message: "a path prefix cannot contain '?' or '#'; this match is left out" });
    }
  });
  for (const h of [...headerNames(rule.requestHeaders, `${path}.requestHeaders`), ...headerNames(rule.responseHeaders, `${path}.responseHeaders`)]) {
    if (!modifiableHeader(h.name))
      out.push({ field: h.field, message: `Envoy does not let routes change the header "${h.name}"; left out (rewrite.hostname sets the host)` });
  }
  if (rule.rewrite?.path?.type === 'ReplacePrefixMatch' && (rule.matches ?? []).some((m) => m.path?.type === 'RegularExpression')) {
    const message = 'ReplacePrefixMatch needs a PathPrefix or Exact path match; the path is not rewritten where the path is a regular expression';
    out.push({ field: `${path}.rewrite.path`, message });
  }
  return out;
}

function routingProblems(service: ModelService, policy: MergedPolicy): PartProblem[] {
  const owner = policy.origins['routing.http'] ?? service.source;
  return (policy.settings.routing?.http ?? []).flatMap((rule, i) =>
    ruleProblems(rule, `spec.routing.http[${i}]`).map((p): PartProblem => ({ policy: owner, ...p, severity: 'error' })),
  );
}

/** The parts of every port's policy that cannot be used. */
export function checkPolicies(
  services: readonly ModelService[],
  policyOf: (service: ModelService, port: ModelServicePort) => MergedPolicy | undefined,
): PartProblem[] {
  return services.flatMap((service) =>
    service.ports.flatMap((port) => {
      const policy = policyOf(service, port);
      return policy ? [...failoverProblems(service, policy), ...bucketProblems(service, port, policy), ...routingProblems(service, policy)] : [];
    }),
  );
}

/** PartiallyInvalid=True naming the parts left out; none when every part can be used. */
export function partiallyInvalidCondition(
  problems: readonly PartProblem[],
): { type: 'PartiallyInvalid'; status: 'True'; reason: 'UnsupportedValue'; message: string } | undefined {
  const unique = [...new Map(problems.filter((p) => p.severity === 'error').map((p) => [`${p.field}|${p.message}`, p])).values()];
  if (unique.length === 0) return undefined;
  return { type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue', message: unique.map((p) => `${p.field}: ${p.message}`).join('; ') };
}
