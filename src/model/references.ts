/**
 * What a policy's routes refer to, resolved once, here: every `routing.http[].backends[]` and
 * `mirror` names a service port of the policy's namespace (by default the target service and the
 * port the request came for), and a backend's `subset.labels` picks the endpoints of that port whose
 * pods carry them. Translation reads the result and never looks a name up again.
 *
 * A reference that does not resolve is an error on the policy that set `routing.http`, at the field
 * path, with a reason in Gateway API's words (BackendNotFound, UnsupportedProtocol, InvalidSubset):
 * the policy's ResolvedRefs condition says so, and the rest of the policy stays in force.
 */
import { formatRef, type ObjectRef } from '../diagnostics.js';
import type { MergedPolicy } from '../policy/merge.js';
import type { HttpRouteRule } from '../policy/schema.js';
import type { ModelEndpoint, ModelService, ModelServicePort, ResolvedBackend, ResolvedRule } from './types.js';

type Backend = NonNullable<HttpRouteRule['backends']>[number];

/** Why a reference did not resolve, in Gateway API's words. */
export type UnresolvedReason = 'BackendNotFound' | 'UnsupportedProtocol' | 'InvalidSubset';

/** A reference that did not resolve (or resolved to something only some proxies can use: a warning). */
export interface Unresolved {
  readonly policy: ObjectRef;
  /** From the object's root: `spec.routing.http[4].backends[1].service`. */
  readonly field: string;
  readonly reason: UnresolvedReason;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** Where resolution looks: the services by `namespace/name`, and the labels of each pod (`namespace/name`). */
export interface ReferenceIndex {
  readonly services: ReadonlyMap<string, ModelService>;
  readonly podLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

interface Target {
  readonly service: ModelService;
  readonly port: ModelServicePort;
  readonly policy: MergedPolicy;
  /** The policy that set routing.http: where every problem of the routes is reported. */
  readonly owner: ObjectRef;
}

/** `it has 80 (http), 9000 (admin)`: what a message naming a missing port adds. */
export function portsText(service: ModelService): string {
  const ports = service.ports.map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port)));
  return ports.length === 0 ? 'it has no ports' : `it has ${ports.join(', ')}`;
}

function carries(labels: Readonly<Record<string, string>> | undefined, wanted: Readonly<Record<string, string>>): boolean {
  return labels !== undefined && Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

class Resolver {
  readonly problems: Unresolved[] = [];

  constructor(
    private readonly target: Target,
    private readonly index: ReferenceIndex,
  ) {}

  private fail(field: string, reason: UnresolvedReason, message: string, severity: 'error' | 'warning' = 'error'): undefined {
    this.problems.push({ policy: this.target.owner, field: `spec.${field}`, reason, message, severity });
    return undefined;
  }

  /** The HTTP service port `name`:`port` (defaults: the target's), for a backend or mirror at `path`. */
  servicePort(name: string | undefined, port: number | undefined, path: string): { service: ModelService; port: ModelServicePort } | undefined {
    const { service: own, port: ownPort } = this.target;
    const service = name === undefined ? own : this.index.services.get(`${own.namespace}/${name}`);
    if (!service) return this.fail(`${path}.service`, 'BackendNotFound', `Service ${own.namespace}/${name ?? ''} not found; left out`);
    const number = port ?? ownPort.port;
    const field = port === undefined ? `${path}.service` : `${path}.port`;
    const servicePort = service.ports.find((p) => p.port === number);
    if (!servicePort) {
      const came = port === undefined ? ' (the port the request came for)' : '';
      return this.fail(field, 'BackendNotFound', `${formatRef(service.source)} has no port ${number}${came}: ${portsText(service)}; left out`);
    }
    if (servicePort.protocol === 'tcp') {
      return this.fail(
        field,
        'UnsupportedProtocol',
        `port ${number} of ${formatRef(service.source)} is a TCP port, which HTTP requests cannot be routed to; left out`,
      );
    }
    return { service, port: servicePort };
  }

  private subset(
    found: { service: ModelService; port: ModelServicePort },
    labels: Readonly<Record<string, string>>,
    path: string,
  ): ResolvedBackend['subset'] | null {
    const { service, port } = found;
    if (service.kind === 'ExternalName') {
      return (
        this.fail(`${path}.subset`, 'InvalidSubset', `a subset needs a service with endpoints; ${formatRef(service.source)} is ExternalName; left out`) ?? null
      );
    }
    if (service.kind === 'Headless') {
      this.fail(
        `${path}.subset`,
        'InvalidSubset',
        `${formatRef(service.source)} is Headless: sidecars send to the address the client dialled and leave this backend out; proxyless clients use it`,
        'warning',
      );
    }
    const endpoints: ModelEndpoint[] = port.endpoints.filter((e) => e.pod !== undefined && carries(this.index.podLabels.get(e.pod), labels));
    if (endpoints.length === 0) {
      this.fail(
        `${path}.subset`,
        'InvalidSubset',
        `no endpoint of ${formatRef(service.source)} port ${port.port} belongs to a pod with these labels: the subset has no endpoints`,
      );
    }
    return { labels, endpoints };
  }

  backend(b: Backend, path: string): ResolvedBackend | undefined {
    const found = this.servicePort(b.service, b.port, path);
    if (!found) return undefined;
    const labels = b.subset?.labels ?? {};
    const base = { service: found.service.source, hostname: found.service.hostname, port: found.port.port, weight: b.weight ?? 1 };
    if (Object.keys(labels).length === 0) return base;
    const subset = this.subset(found, labels, path);
    return subset === null ? undefined : { ...base, subset };
  }

  rule(rule: HttpRouteRule, i: number): ResolvedRule {
    const path = `routing.http[${i}]`;
    const out: { backends?: ResolvedBackend[]; mirror?: ResolvedBackend } = {};
    if (rule.backends) {
      out.backends = rule.backends.flatMap((b, j) => this.backend(b, `${path}.backends[${j}]`) ?? []);
      if (!out.backends.some((b) => b.weight > 0))
        this.fail(`${path}.backends`, 'BackendNotFound', 'no backend with a weight above 0 can be used; the route is left out');
    }
    if (rule.mirror) {
      const found = this.servicePort(rule.mirror.service, rule.mirror.port, `${path}.mirror`);
      if (found) out.mirror = { service: found.service.source, hostname: found.service.hostname, port: found.port.port, weight: 1 };
    }
    return out;
  }
}

/** The references of one service port's routes, resolved; what did not resolve is in `problems`. */
export function resolveRoutes(
  service: ModelService,
  port: ModelServicePort,
  policy: MergedPolicy,
  index: ReferenceIndex,
): { rules: ResolvedRule[]; problems: Unresolved[] } {
  const rules = policy.settings.routing?.http;
  if (!rules) return { rules: [], problems: [] };
  const owner = policy.origins['routing.http'] ?? service.source;
  const resolver = new Resolver({ service, port, policy, owner }, index);
  return { rules: rules.map((r, i) => resolver.rule(r, i)), problems: resolver.problems };
}

/** `Service namespace/name:port`: how a service port is named in policy status (and keyed here). */
export function servicePortRef(namespace: string, name: string, port: number): string {
  return `Service ${namespace}/${name}:${port}`;
}

/**
 * The routes of every port of `services` (those a policy attaches to) with a merged policy that
 * routes, resolved against `index` (every service); and what did not resolve.
 */
export function resolveAllRoutes(
  services: readonly ModelService[],
  byPort: ReadonlyMap<string, MergedPolicy>,
  index: ReferenceIndex,
): { routes: Map<string, ResolvedRule[]>; problems: Unresolved[] } {
  const routes = new Map<string, ResolvedRule[]>();
  const problems: Unresolved[] = [];
  for (const service of services) {
    for (const port of service.ports) {
      const key = servicePortRef(service.namespace, service.name, port.port);
      const policy = byPort.get(key);
      // Routes are HTTP's: a TCP port's traffic is proxied as it is, whatever the policy says of routes.
      if (!policy?.settings.routing || port.protocol === 'tcp') continue;
      const resolved = resolveRoutes(service, port, policy, index);
      routes.set(key, resolved.rules);
      problems.push(...resolved.problems);
    }
  }
  return { routes, problems };
}

/**
 * A policy's ResolvedRefs condition (Gateway API's shape): True when everything it refers to
 * resolved; False with the first failure's reason and every failure's field and message.
 */
export function resolvedRefsCondition(problems: readonly Unresolved[]): { type: 'ResolvedRefs'; status: 'True' | 'False'; reason: string; message: string } {
  const errors = [...new Map(problems.filter((p) => p.severity === 'error').map((p) => [`${p.field}|${p.message}`, p])).values()];
  const [first] = errors;
  if (!first) return { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'every reference resolved' };
  return { type: 'ResolvedRefs', status: 'False', reason: first.reason, message: errors.map((e) => `${e.field}: ${e.message}`).join('; ') };
}
