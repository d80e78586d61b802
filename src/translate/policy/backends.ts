/**
 * `routing.http[].backends` → where a route sends its requests: the cluster of one service port, or
 * weighted_clusters across several (in the order given, duplicates merged, weight-0 backends left
 * out). A backend names a Service of the policy's namespace (default: the target) and its port
 * (default: the target's port); one that does not exist, or is a TCP port, is an error on the policy
 * and is left out (the others share the traffic). A route left with no backend is left out.
 *
 * A backend with `subset.labels` sends to the endpoints of that service port whose pods carry the
 * labels, through a cluster of its own, `outbound|<port>|<subset>|<hostname>` (names.ts). gRPC has
 * no subset load balancing, so separate clusters are what works for sidecars and gRPC alike; they
 * are emitted by subsets.ts, which resolves backends with this same code.
 */
import { type Diagnostic, formatRef } from '../../diagnostics.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { ModelService, ModelServicePort } from '../../model/types.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { outboundCluster, outboundSubsetCluster, subsetName } from '../names.js';
import { routingNote, rulePath } from './routing-notes.js';
import type { ProxyTarget, RouteContext } from './types.js';

type Backend = NonNullable<HttpRouteRule['backends']>[number];

export interface ServicePortRef {
  readonly service: ModelService;
  readonly port: ModelServicePort;
}

/** A backend's subset: the endpoints of a service port whose pods carry `labels`. */
export interface SubsetRef extends ServicePortRef {
  readonly labels: Readonly<Record<string, string>>;
  /** Its cluster (and ClusterLoadAssignment) name. */
  readonly cluster: string;
}

export interface ResolvedBackend {
  readonly cluster: string;
  readonly weight: number;
  readonly subset?: SubsetRef;
}

/**
 * The HTTP service port `name`:`port` of the policy's namespace (defaults: the target service, the
 * target port), for a backend or mirror at `path`; an error on the policy when there is none.
 */
export function resolveServicePort(ctx: RouteContext, name: string | undefined, port: number | undefined, path: string, errors: Diagnostic[]): ServicePortRef | undefined {
  const namespace = ctx.service.namespace;
  const service = name === undefined ? ctx.service : ctx.mesh.service(namespace, name);
  if (!service) {
    errors.push(routingNote(ctx, `${path}.service`, `Service ${namespace}/${name ?? ''} not found; left out`));
    return undefined;
  }
  const number = port ?? ctx.port.port;
  const field = port === undefined ? `${path}.service` : `${path}.port`;
  const servicePort = service.ports.find((p) => p.port === number);
  if (!servicePort) {
    errors.push(routingNote(ctx, field, `${formatRef(service.source)} has no port ${number}${port === undefined ? ' (the port the request came for)' : ''}; left out`));
    return undefined;
  }
  if (servicePort.protocol === 'tcp') {
    errors.push(routingNote(ctx, field, `port ${number} of ${formatRef(service.source)} is a TCP port, which HTTP requests cannot be routed to; left out`));
    return undefined;
  }
  return { service, port: servicePort };
}

/** Service kinds whose endpoints the target receives over EDS: those a subset can be cut from. */
function hasEndpoints(service: ModelService, target: ProxyTarget): boolean {
  return target === 'sidecar' ? service.kind === 'ClusterIP' : service.kind !== 'ExternalName';
}

/** The backend at `path` (`routing.http[0].backends[1]`), or undefined (with an error) when it cannot be used. */
export function resolveBackend(ctx: RouteContext, backend: Backend, path: string, errors: Diagnostic[]): ResolvedBackend | undefined {
  const ref = resolveServicePort(ctx, backend.service, backend.port, path, errors);
  if (!ref) return undefined;
  const weight = backend.weight ?? 1;
  const labels = backend.subset?.labels ?? {};
  if (Object.keys(labels).length === 0) return { cluster: outboundCluster(ref.service.hostname, ref.port.port), weight };
  if (!hasEndpoints(ref.service, ctx.target)) {
    errors.push(routingNote(ctx, `${path}.subset`, `a subset needs a service whose endpoints the proxy receives; ${formatRef(ref.service.source)} is ${ref.service.kind}; left out`));
    return undefined;
  }
  const cluster = outboundSubsetCluster(ref.service.hostname, ref.port.port, subsetName(labels));
  return { cluster, weight, subset: { ...ref, labels, cluster } };
}

/** The usable backends of rule `i`, duplicates merged (first place kept), weight-0 ones left out. */
function ruleBackends(ctx: RouteContext, backends: readonly Backend[], i: number, errors: Diagnostic[]): { name: string; weight: number }[] {
  const merged = new Map<string, number>();
  backends.forEach((b, j) => {
    const resolved = resolveBackend(ctx, b, `${rulePath(i)}.backends[${j}]`, errors);
    if (resolved) merged.set(resolved.cluster, (merged.get(resolved.cluster) ?? 0) + resolved.weight);
  });
  return [...merged].filter(([, weight]) => weight > 0).map(([name, weight]) => ({ name, weight }));
}

/**
 * Where rule `i` sends requests: its backends, or the target's own cluster when it names none;
 * undefined (with errors) when none of its backends can be used.
 */
export function ruleDestination(ctx: RouteContext, rule: HttpRouteRule, i: number, errors: Diagnostic[]): Pick<RouteAction, 'cluster' | 'weighted_clusters'> | undefined {
  if (rule.backends === undefined) return { cluster: outboundCluster(ctx.service.hostname, ctx.port.port) };
  const clusters = ruleBackends(ctx, rule.backends, i, errors);
  const [only] = clusters;
  if (only === undefined) {
    errors.push(routingNote(ctx, `${rulePath(i)}.backends`, 'no backend with a weight above 0 can be used; the route is left out'));
    return undefined;
  }
  if (clusters.length === 1) return { cluster: only.name };
  return { weighted_clusters: { clusters: clusters.map((c) => ({ name: c.name, weight: { value: c.weight } })) } };
}
