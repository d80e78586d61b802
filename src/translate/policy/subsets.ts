/**
 * The subset clusters the policies' routes send to (backends with a subset): one per (service port,
 * labels), named `outbound|<port>|<subset>|<hostname>`, holding the endpoints of that service port
 * whose pods carry every one of the labels. Both come from the backends the model resolved (the
 * ports' `routes`), as the routes do (backends.ts), so a route never names a subset cluster that is
 * not emitted. Sidecars and proxyless clients each build their clusters and ClusterLoadAssignments
 * from these (sidecar-outbound.ts, proxyless-outbound.ts). A subset with no endpoint is still
 * emitted (requests to it fail); the model reported it on the policy.
 */
import { sortedRefs, type Diagnostic, type ObjectRef } from '../../diagnostics.js';
import type { ModelEndpoint, ModelService, ModelServicePort } from '../../model/types.js';
import { isHttp } from '../common.js';
import { byName, guarded } from '../translation.js';
import { backendCluster } from './backends.js';
import type { MeshIndex, ProxyTarget } from './types.js';

export interface PolicySubset {
  /** Its cluster (and ClusterLoadAssignment) name. */
  readonly name: string;
  /** The service port it is cut from. */
  readonly service: ModelService;
  readonly port: ModelServicePort;
  /** The endpoints of the service port whose pods carry the labels, in the port's order. */
  readonly endpoints: readonly ModelEndpoint[];
  /** The policies whose routes send to it, sorted. */
  readonly policies: readonly ObjectRef[];
}

/** The subset clusters of the model for one target, sorted by name (an exception is an error about its service). */
export function policySubsets(services: readonly ModelService[], mesh: MeshIndex, target: ProxyTarget, errors: Diagnostic[]): PolicySubset[] {
  const found = new Map<string, PolicySubset & { policies: ObjectRef[] }>();
  const kindOf = (ref: ObjectRef): string | undefined => mesh.service(ref.namespace ?? '', ref.name)?.kind;
  const collect = (service: ModelService): void => {
    for (const port of service.ports) {
      if (!port.routes || !isHttp(port.protocol)) continue;
      const policy = port.policy?.origins['routing.http'] ?? service.source;
      for (const b of port.routes.flatMap((r) => r.backends ?? [])) {
        const name = b.subset ? backendCluster(b, target, (x) => kindOf(x.service)) : undefined;
        const to = mesh.service(b.service.namespace ?? '', b.service.name);
        const toPort = to?.ports.find((p) => p.port === b.port);
        if (!name || !b.subset || !to || !toPort) continue;
        const entry = found.get(name) ?? { name, service: to, port: toPort, endpoints: b.subset.endpoints, policies: [] };
        entry.policies.push(policy);
        found.set(name, entry);
      }
    }
  };
  for (const service of services) guarded(service.source, errors, () => collect(service));
  return byName([...found.values()].map((s) => ({ ...s, policies: sortedRefs(s.policies) })));
}
