/**
 * `routing.http[].backends` → where a route sends its requests: the cluster of one service port, or
 * weighted_clusters across several (in the order given, duplicates merged, weight-0 backends left
 * out). The backends were resolved in the model (model/references.ts: the port's `routes`); one that
 * did not resolve is already left out there and reported on the policy. A route left with no
 * backend is left out.
 *
 * A backend with a subset sends to the endpoints of that service port whose pods carry its labels,
 * through a cluster of its own, `outbound|<port>|<subset>|<hostname>` (names.ts), emitted by
 * subsets.ts from the same resolved backends. gRPC has no subset load balancing, so separate
 * clusters are what works for sidecars and gRPC alike. Sidecars send to a headless service's pods
 * by the address dialled, so a subset of one is left out for them (the model warned).
 */
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { ResolvedBackend } from '../../model/types.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { outboundCluster, outboundSubsetCluster, subsetName } from '../names.js';
import type { ProxyTarget, RouteContext } from './types.js';

/** The cluster a resolved backend sends to, or undefined when `target` cannot use it. */
export function backendCluster(b: ResolvedBackend, target: ProxyTarget, kindOf: (b: ResolvedBackend) => string | undefined): string | undefined {
  if (!b.subset) return outboundCluster(b.hostname, b.port);
  if (target === 'sidecar' && kindOf(b) === 'Headless') return undefined;
  return outboundSubsetCluster(b.hostname, b.port, subsetName(b.subset.labels));
}

/** The usable backends of rule `i`, duplicates merged (first place kept), weight-0 ones left out. */
function ruleBackends(ctx: RouteContext, i: number): { name: string; weight: number }[] {
  const merged = new Map<string, number>();
  for (const b of ctx.port.routes?.[i]?.backends ?? []) {
    const cluster = backendCluster(b, ctx.target, (x) => ctx.mesh.service(x.service.namespace ?? '', x.service.name)?.kind);
    if (cluster) merged.set(cluster, (merged.get(cluster) ?? 0) + b.weight);
  }
  return [...merged].filter(([, weight]) => weight > 0).map(([name, weight]) => ({ name, weight }));
}

/**
 * Where rule `i` sends requests: its backends, or the target's own cluster when it names none;
 * undefined when none of its backends can be used.
 */
export function ruleDestination(ctx: RouteContext, rule: HttpRouteRule, i: number): Pick<RouteAction, 'cluster' | 'weighted_clusters'> | undefined {
  if (rule.backends === undefined) return { cluster: outboundCluster(ctx.service.hostname, ctx.port.port) };
  const clusters = ruleBackends(ctx, i);
  const [only] = clusters;
  if (only === undefined) return undefined;
  if (clusters.length === 1) return { cluster: only.name };
  return { weighted_clusters: { clusters: clusters.map((c) => ({ name: c.name, weight: { value: c.weight } })) } };
}
