/**
 * What a policy on a service port asks that the proxies cannot do, though the schema admits it: a
 * failover entry that names neither a region nor region/zone, a token bucket Envoy refuses
 * (src/policy/limits.ts). Each is an error on the policy that set the field; the part is left out
 * and the rest of the policy stays in force: the policy's PartiallyInvalid condition (Gateway API's
 * shape) says which parts.
 */
import { formatRef, type ObjectRef } from '../diagnostics.js';
import type { MergedPolicy } from '../policy/merge.js';
import { bucketAsks, bucketProblem, parsePlace } from '../policy/limits.js';
import type { ModelService, ModelServicePort } from './types.js';

export interface PartProblem {
  readonly policy: ObjectRef;
  readonly field: string;
  readonly message: string;
}

const FAILOVER = 'loadBalancing.failover';

function failoverProblems(service: ModelService, policy: MergedPolicy): PartProblem[] {
  const owner = policy.origins[FAILOVER] ?? service.source;
  return (policy.settings.loadBalancing?.failover ?? []).flatMap((entry, i) =>
    (['from', 'to'] as const)
      .filter((side) => parsePlace(entry[side]) === undefined)
      .map((side) => ({
        policy: owner,
        field: `spec.${FAILOVER}[${i}].${side}`,
        message: `"${entry[side]}" is not a region or region/zone: this failover entry is ignored`,
      })),
  );
}

function bucketProblems(service: ModelService, port: ModelServicePort, policy: MergedPolicy): PartProblem[] {
  return bucketAsks(policy.settings).flatMap((ask) => {
    const problem = bucketProblem(ask.bucket);
    if (!problem) return [];
    const owner = policy.origins[ask.originKey] ?? service.source;
    return [{ policy: owner, field: ask.field, message: `${problem}; requests to ${formatRef(service.source)}:${port.port} are not limited by it` }];
  });
}

/** The parts of every port's policy that cannot be used. */
export function checkPolicies(
  services: readonly ModelService[],
  policyOf: (service: ModelService, port: ModelServicePort) => MergedPolicy | undefined,
): PartProblem[] {
  return services.flatMap((service) =>
    service.ports.flatMap((port) => {
      const policy = policyOf(service, port);
      return policy ? [...failoverProblems(service, policy), ...bucketProblems(service, port, policy)] : [];
    }),
  );
}

/** PartiallyInvalid=True naming the parts left out; none when every part can be used. */
export function partiallyInvalidCondition(
  problems: readonly PartProblem[],
): { type: 'PartiallyInvalid'; status: 'True'; reason: 'UnsupportedValue'; message: string } | undefined {
  const unique = [...new Map(problems.map((p) => [`${p.field}|${p.message}`, p])).values()];
  if (unique.length === 0) return undefined;
  return { type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue', message: unique.map((p) => `${p.field}: ${p.message}`).join('; ') };
}
