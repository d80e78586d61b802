/**
 * Listeners for xDS-enabled gRPC servers (gRFC A36). A server listening on ip:port asks for the
 * listener `serverListener(ip, port)` and serves only once it has one whose socket_address is
 * exactly ip:port, with one filter chain holding one HTTP connection manager whose routes carry
 * `non_forwarding_action` (a server routes to itself).
 *
 * Which ip:port pairs: every endpoint of every gRPC-capable service port in the namespace, and
 * every gRPC-capable port of every workload (pod) in it. The workloads matter: a pod that is not
 * ready yet is in no endpoint list, and an xDS server does not serve before its listener arrives;
 * were endpoints the only source, a pod whose readiness depends on serving would never get ready.
 *
 * The HTTP filters come from the ordered list like every other connection manager's, and for a
 * gRPC server that is the router alone: grpc-js-xds servers implement no policy filter of Trellis
 * (its fault filter is client-only; a server rejects a listener naming it), and no access log or
 * tracing configuration. A policy's observability is reported as not implemented by proxyless gRPC
 * (policy/observability.ts, through the client-side virtual host hook).
 *
 * Mutual TLS (mtls.ts): a listener is STRICT when a service port or workload port behind its
 * ip:port is; its filter chain then requires a client certificate. PERMISSIVE is served plaintext:
 * a gRPC server cannot tell TLS from plaintext on one port (it refuses listener filters such as
 * tls_inspector, and a chain matching a transport protocol other than raw_buffer never matches),
 * and plaintext is what PERMISSIVE promises every client. A PERMISSIVE server whose Pod carries
 * `trellis.dev/tls-mode: mesh` is a warning: sidecars send such endpoints mTLS.
 *
 * Authorization (gRFC A41): the RBAC HTTP filters of the service ports behind the ip:port, DENY
 * then ALLOW before the router (filters/authorization.ts). gRPC matches a caller's identity in the
 * certificate of the TLS connection: on a listener that is not STRICT (plaintext) no caller has one,
 * and a rule naming callers never matches — a warning on each such policy.
 */
import { typed } from '../envoy/codec.js';
import type { Listener } from '../envoy/generated/envoy/config/listener/v3/Listener.js';
import type { HttpConnectionManager } from '../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { MeshModel, ModelService, ModelWorkload, MtlsMode } from '../model/types.js';
import { TLS_MODE_LABEL, TLS_MODE_MESH } from '../model/inputs.js';
import { inMesh } from '../model/mtls.js';
import type { Diagnostic } from '../diagnostics.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inboundCluster, inboundRoute, inboundVirtualHost, serverListener } from './names.js';
import { FILTER_NAME, MESSAGE } from './common.js';
import { httpFilters } from './filters/index.js';
import { isGrpcPort, isIpLiteral } from './proxyless-common.js';
import { byName, Memo, sameElements, translationWarning } from './translation.js';
import { namespaceIndex } from './policy/mesh-index.js';
import { type ObjectRef, sortedRefs } from '../diagnostics.js';
import { grpcServerTls, mtlsPolicySources } from './mtls.js';
import { servicePortsByTarget } from './listeners-inbound.js';
import type { PortContext } from './policy/types.js';
import { authorizationSources, namesCallers } from './authorization.js';

interface Bind {
  readonly address: string;
  readonly port: number;
  readonly sources: ObjectRef[];
  /** The service ports behind it: their policies' authorization applies there. */
  readonly services: PortContext[];
  /** The mTLS modes of the service ports and workload ports behind it. */
  readonly modes: Set<MtlsMode>;
  /** The Pods behind it that are in the mesh (sidecars send them mTLS). */
  readonly meshPods: Set<string>;
}

/** What a server listener's connection manager enforces: the authorization of the service ports behind it. */
interface ServerAuthorization {
  readonly services: readonly PortContext[];
  readonly trustDomain: string;
}

function serverHcm(port: number, authz: ServerAuthorization | undefined): HttpConnectionManager {
  return {
    stat_prefix: inboundCluster(port),
    route_config: {
      name: inboundRoute(port),
      virtual_hosts: [{ name: inboundVirtualHost(port), domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
    },
    http_filters: httpFilters({ direction: 'inbound', port, target: 'proxyless', ...(authz ?? {}) }),
  };
}

/**
 * The listener an xDS-enabled gRPC server bound to address:port receives; STRICT: mutual TLS
 * required; `authz`: the service ports behind it, whose policies' authorization it enforces.
 */
export function grpcServerListener(address: string, port: number, mode?: MtlsMode, authz?: ServerAuthorization): Listener {
  const hcm = { name: FILTER_NAME.httpConnectionManager, typed_config: typed(MESSAGE.httpConnectionManager, serverHcm(port, authz)) };
  return {
    name: serverListener(address, port),
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{ filters: [hcm], ...(mode === 'STRICT' ? { transport_socket: grpcServerTls() } : {}) }],
  };
}

interface Behind {
  readonly sources: readonly ObjectRef[];
  readonly services: readonly PortContext[];
  readonly mode: MtlsMode | undefined;
  /** `namespace/name` of a Pod in the mesh behind it. */
  readonly meshPod: string | undefined;
}

function collect(binds: Map<string, Bind>, address: string, port: number, behind: Behind): void {
  if (!isIpLiteral(address)) return;
  const key = `${address}|${port}`;
  const bind = binds.get(key) ?? { address, port, sources: [], services: [], modes: new Set(), meshPods: new Set() };
  bind.sources.push(...behind.sources);
  bind.services.push(...behind.services);
  if (behind.mode) bind.modes.add(behind.mode);
  if (behind.meshPod) bind.meshPods.add(behind.meshPod);
  binds.set(key, bind);
}

/** A bind's mode: STRICT when anything behind it is, else PERMISSIVE when mTLS is on, else none. */
function modeOf(b: Bind): MtlsMode | undefined {
  return b.modes.has('STRICT') ? 'STRICT' : b.modes.has('PERMISSIVE') ? 'PERMISSIVE' : undefined;
}

/** The warning for a PERMISSIVE (so plaintext) server whose Pod sidecars would send mTLS. */
function meshPodNotes(b: Bind): Diagnostic[] {
  if (modeOf(b) !== 'PERMISSIVE') return [];
  return [...b.meshPods].sort().map((pod) => {
    const [namespace = '', name = ''] = pod.split('/');
    return translationWarning(
      { kind: 'Pod', namespace, name },
      `metadata.labels["${TLS_MODE_LABEL}"]`,
      `the Pod is labelled ${TLS_MODE_LABEL}: ${TLS_MODE_MESH}, so sidecars send it mutual TLS, but its proxyless gRPC server on port ${b.port} is PERMISSIVE and ` +
        'serves plaintext (a gRPC server cannot accept both on one port): make its service STRICT, or remove the label',
    );
  });
}

/**
 * A PERMISSIVE server (served plaintext) whose policies name callers: gRPC sees no identity there,
 * and such rules never match. (Without workload certificates the model already says so, as an error.)
 */
function plaintextAuthorizationNotes(b: Bind): Diagnostic[] {
  if (modeOf(b) !== 'PERMISSIVE' || !namesCallers(b.services)) return [];
  return authorizationSources(b.services).map((policy) =>
    translationWarning(
      policy,
      'spec.authorization',
      `the proxyless gRPC server on ${b.address}:${b.port} is PERMISSIVE, which a gRPC server serves as plaintext: no caller has an identity there, so rules naming identities or namespaces never match (an ALLOW refuses their callers, a DENY refuses no one); make its service STRICT`,
    ),
  );
}

/** The server listeners of a namespace, and their warnings. */
export interface ServerListeners {
  readonly listeners: readonly DesiredResource<'listener'>[];
  readonly notes: readonly Diagnostic[];
}

/** What was last made for each namespace, whatever the model, and what it was made of. */
const lastServers = new Memo<{
  made?: {
    readonly services: readonly ModelService[];
    readonly workloads: readonly ModelWorkload[];
    readonly security: string;
    readonly servers: ServerListeners;
  };
}>();

/**
 * The server listeners of one namespace, one per ip:port however many services share it, sorted by
 * name; and their warnings. Made again only when the namespace's services or workloads changed (the
 * model shares unchanged ones with the model before), else the very result made before.
 */
export function proxylessServerListeners(model: MeshModel, namespace: string): ServerListeners {
  const index = namespaceIndex(model);
  const services = index.services.get(namespace) ?? [];
  const workloads = index.workloads.get(namespace) ?? [];
  const security = `${model.trustDomain}|${model.mtls?.defaultMode ?? ''}`;
  const slot = lastServers.get(namespace, () => ({}));
  const held = slot.made;
  if (held && held.security === security && sameElements(held.services, services) && sameElements(held.workloads, workloads)) return held.servers;
  const servers = makeServerListeners(model, services, workloads);
  slot.made = { services, workloads, security, servers };
  return servers;
}

function makeServerListeners(model: MeshModel, services: readonly ModelService[], workloads: readonly ModelWorkload[]): ServerListeners {
  const binds = new Map<string, Bind>();
  for (const service of services) {
    for (const port of service.ports.filter(isGrpcPort)) {
      const ctx: PortContext = { service, port, target: 'proxyless' };
      for (const e of port.endpoints) {
        const sources = [service.source, e.source, ...mtlsPolicySources(ctx), ...authorizationSources([ctx])];
        collect(binds, e.address, e.port, { sources, services: [ctx], mode: port.mtls, meshPod: e.mesh ? e.pod : undefined });
      }
    }
  }
  // What a workload port's service ports bring (a mode, authorization) is looked up only when some do.
  const lookUp = model.mtls !== undefined || services.some((s) => s.ports.some((p) => p.authorization));
  for (const workload of workloads) {
    const meshPod = model.mtls && inMesh(workload.labels) ? `${workload.namespace}/${workload.name}` : undefined;
    // The services selecting a workload are of its namespace.
    const targets = lookUp ? servicePortsByTarget(workload, services) : new Map<number, PortContext[]>();
    for (const port of workload.ports.filter(isGrpcPort)) {
      const services = (targets.get(port.port) ?? []).map((c): PortContext => ({ ...c, target: 'proxyless' }));
      const sources = [workload.source, ...services.flatMap(mtlsPolicySources), ...authorizationSources(services)];
      collect(binds, workload.ip, port.port, { sources, services, mode: port.mtls, meshPod });
    }
  }
  const all = [...binds.values()];
  const authz = (b: Bind) => (b.services.some((s) => s.port.authorization) ? { services: b.services, trustDomain: model.trustDomain } : undefined);
  const listeners = byName(
    all.map((b) => ({
      name: serverListener(b.address, b.port),
      message: grpcServerListener(b.address, b.port, modeOf(b), authz(b)),
      sources: sortedRefs(b.sources),
    })),
  );
  return { listeners, notes: [...all.flatMap(meshPodNotes), ...all.flatMap(plaintextAuthorizationNotes)] };
}
