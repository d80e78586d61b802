/**
 * The subset clusters the policies' routes send to (backends with `subset.labels`): one per
 * (service port, labels), named `outbound|<port>|<subset>|<hostname>`, holding the endpoints of that
 * service port whose pods carry every one of the labels. The backends are resolved with the very
 * code the routes use (backends.ts), so a route never names a subset cluster that is not emitted.
 * Sidecars and proxyless clients each build their clusters and ClusterLoadAssignments from these
 * (sidecar-outbound.ts, proxyless-outbound.ts).
 */
import { type Diagnostic, formatRef, type ObjectRef, sortedRefs } from '../../diagnostics.js';
import type { ModelEndpoint, ModelService } from '../../model/types.js';
import { isHttp } from '../common.js';
import { byName, guarded } from '../translation.js';
import { resolveBackend, type SubsetRef } from './backends.js';
import { routingNote } from './routing-notes.js';
import type { MeshIndex, ProxyTarget, RouteContext } from './types.js';

export interface PolicySubset extends SubsetRef {
  readonly name: string;
  /** The endpoints of the service port whose pods carry the labels, in the port's order. */
  readonly endpoints: readonly ModelEndpoint[];
  /** The policies whose routes send to it (`TrafficPolicy ns/name`), sorted. */
  readonly policies: readonly ObjectRef[];
}

function carries(labels: Readonly<Record<string, string>> | undefined, wanted: Readonly<Record<string, string>>): boolean {
  return labels !== undefined && Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** Every subset some route of `ctx`'s policy sends to, with the policy that asks. */
function portSubsets(ctx: RouteContext): { ref: SubsetRef; policy: ObjectRef; at: string }[] {
  const rules = ctx.port.policy?.settings.routing?.http ?? [];
  const policy = ctx.port.policy?.origins['routing.http'] ?? ctx.service.source;
  const ignored: Diagnostic[] = []; // the routes report these
  return rules.flatMap((rule, i) =>
    (rule.backends ?? []).flatMap((b, j) => {
      const path = `routing.http[${i}].backends[${j}]`;
      const resolved = resolveBackend(ctx, b, path, ignored);
      return resolved?.subset ? [{ ref: resolved.subset, policy, at: path }] : [];
    }),
  );
}

function subsetOf(ref: SubsetRef, policies: ObjectRef[], mesh: MeshIndex): PolicySubset {
  const endpoints = ref.port.endpoints.filter((e) => e.pod !== undefined && carries(mesh.podLabels(e.pod), ref.labels));
  return { ...ref, name: ref.cluster, endpoints, policies: sortedRefs(policies) };
}

/**
 * The subset clusters of the model for one target, sorted by name. A subset with no endpoint is
 * still emitted (requests to it fail) and noted on the policy.
 */
export function policySubsets(services: readonly ModelService[], mesh: MeshIndex, target: ProxyTarget, errors: Diagnostic[]): PolicySubset[] {
  const found = new Map<string, { ref: SubsetRef; policies: ObjectRef[]; notes: Diagnostic[] }>();
  const collect = (ctx: RouteContext): void => {
    for (const { ref, policy, at } of portSubsets(ctx)) {
      const entry = found.get(ref.cluster) ?? { ref, policies: [], notes: [] };
      entry.policies.push(policy);
      entry.notes.push(routingNote(ctx, `${at}.subset`, `no endpoint of ${formatRef(ref.service.source)} port ${ref.port.port} belongs to a pod with these labels: the subset has no endpoints`, true));
      found.set(ref.cluster, entry);
    }
  };
  for (const service of services) {
    guarded(service.source, errors, () => {
      for (const port of service.ports) {
        if (port.policy?.settings.routing && isHttp(port.protocol)) collect({ service, port, target, mesh });
      }
    });
  }
  const subsets = [...found.values()].map((f) => {
    const subset = subsetOf(f.ref, f.policies, mesh);
    if (subset.endpoints.length === 0) errors.push(...f.notes);
    return subset;
  });
  return byName(subsets);
}
