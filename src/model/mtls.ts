/**
 * Mutual TLS in the model, resolved once here so that translation only reads it.
 *
 * mTLS exists only when Trellis has workload certificates (`trellis serve --issuer`: the model's
 * `mtls` is set). Then each service port of a ClusterIP or headless service has a mode — its
 * policy's `mtls.mode`, else `--mtls-mode` — each endpoint whose Pod carries
 * `trellis.dev/tls-mode: mesh` is in the mesh, each workload port has the mode its services ask
 * for, and each service lists the identities of its pods. ExternalName services are outside the
 * mesh: no mode.
 *
 * What the model finds wrong here:
 *   - a policy asking for STRICT while workload certificates are off: an error on the policy
 *     (PartiallyInvalid) and Programmed=False (`NoWorkloadCertificates`): STRICT cannot be enforced,
 *     and traffic stays plaintext — said, never silent;
 *   - a policy asking for STRICT on an ExternalName service: an error (the mesh cannot secure it);
 *   - a STRICT port with endpoints not in the mesh: a warning (on the policy that made it STRICT,
 *     else on the Service): clients speak mTLS to them, which they cannot answer;
 *   - a workload port targeted both STRICT and PERMISSIVE: a warning on the Pod; STRICT wins.
 */
import { formatRef, type Diagnostics, type ObjectRef } from '../diagnostics.js';
import type { MergedPolicy } from '../policy/merge.js';
import { TLS_MODE_LABEL, TLS_MODE_MESH } from './inputs.js';
import type { PartProblem } from './policy-checks.js';
import type { ModelEndpoint, ModelService, ModelServicePort, ModelWorkload, MtlsMode, MtlsSettings } from './types.js';

/** The Programmed reason of a policy asking for STRICT while workload certificates are off. */
export const NO_CERTIFICATES_REASON = 'NoWorkloadCertificates';

const MODE_FIELD = 'mtls.mode';

/** True when a Pod's labels put its endpoints in the mesh (`trellis.dev/tls-mode: mesh`). */
export function inMesh(labels: Readonly<Record<string, string>>): boolean {
  return labels[TLS_MODE_LABEL] === TLS_MODE_MESH;
}

/** The pods (`namespace/name`) whose endpoints are in the mesh; none when mTLS is off. */
export function meshPods(podLabels: ReadonlyMap<string, Readonly<Record<string, string>>>, settings: MtlsSettings | undefined): Set<string> {
  if (!settings) return new Set();
  return new Set([...podLabels].filter(([, labels]) => inMesh(labels)).map(([pod]) => pod));
}

/** The mode of a service port: none when mTLS is off or the service is outside the mesh. */
function portMode(service: ModelService, port: ModelServicePort, settings: MtlsSettings | undefined): MtlsMode | undefined {
  if (!settings || service.kind === 'ExternalName') return undefined;
  return port.policy?.settings.mtls?.mode ?? settings.defaultMode;
}

function notInMesh(endpoints: readonly ModelEndpoint[]): string {
  const outside = endpoints.filter((e) => !e.mesh);
  const shown = outside.slice(0, 5).map((e) => (e.pod ? `${e.address} (Pod ${e.pod})` : e.address));
  const more = outside.length > shown.length ? `, and ${outside.length - shown.length} more` : '';
  const one = outside.length === 1;
  return (
    `${outside.length} of its ${endpoints.length} endpoints ${one ? 'is' : 'are'} not in the mesh (${one ? 'its Pod lacks' : 'their Pods lack'} ${TLS_MODE_LABEL}: ${TLS_MODE_MESH}): ` +
    `${shown.join(', ')}${more}; clients send ${one ? 'it' : 'them'} mutual TLS, which only a sidecar can answer`
  );
}

/**
 * The service with each port's mode set (the same object when mTLS is off, or for an ExternalName
 * service). A port STRICT by --mtls-mode (no policy says) with endpoints outside the mesh is a
 * warning on the Service.
 */
export function withPortModes(service: ModelService, settings: MtlsSettings | undefined, sink: Diagnostics): ModelService {
  if (!settings || service.kind === 'ExternalName') return service;
  const ports = service.ports.map((port): ModelServicePort => {
    const mode = portMode(service, port, settings);
    if (!mode) return port;
    if (mode === 'STRICT' && !port.policy?.settings.mtls && port.endpoints.some((e) => !e.mesh)) {
      sink.warn(service.source, undefined, undefined, `port ${port.port} is STRICT (--mtls-mode): ${notInMesh(port.endpoints)}`);
    }
    return { ...port, mtls: mode };
  });
  return { ...service, ports };
}

/**
 * The mode of a workload port from the modes of the service ports targeting it (STRICT wins), else
 * the default; `conflict` is called when they disagree.
 */
export function workloadPortMode(asked: readonly MtlsMode[], settings: MtlsSettings | undefined, conflict: () => void): MtlsMode | undefined {
  if (!settings) return undefined;
  const modes = new Set(asked);
  if (modes.size > 1) conflict();
  if (modes.has('STRICT')) return 'STRICT';
  if (modes.has('PERMISSIVE')) return 'PERMISSIVE';
  return settings.defaultMode;
}

/**
 * The identities of each service's pods, sorted: of the workloads it selects and of the pods behind
 * its endpoints. None for an ExternalName service.
 */
export function serviceIdentities(workloads: readonly ModelWorkload[]): (service: ModelService) => string[] | undefined {
  const byPod = new Map(workloads.map((w) => [`${w.namespace}/${w.name}`, w]));
  const selected = new Map<string, Set<string>>();
  for (const w of workloads) {
    for (const s of w.services) selected.set(s, (selected.get(s) ?? new Set()).add(w.identity));
  }
  return (service) => {
    if (service.kind === 'ExternalName') return undefined;
    const ids = new Set(selected.get(`${service.namespace}/${service.name}`) ?? []);
    for (const e of service.ports.flatMap((p) => p.endpoints)) {
      const w = e.pod === undefined ? undefined : byPod.get(e.pod);
      if (w) ids.add(w.identity);
    }
    return [...ids].sort();
  };
}

/** The service with its identities (mTLS enabled only; see `serviceIdentities`); the same object without. */
export function withIdentities(service: ModelService, identities: readonly string[] | undefined): ModelService {
  return identities ? { ...service, identities } : service;
}

/** One policy's mTLS problems, gathered over the ports it decides the mode of. */
interface Gathered {
  readonly policy: ObjectRef;
  readonly off: string[];
  readonly external: string[];
  readonly outside: { port: string; message: string }[];
}

/**
 * What the policies' `mtls.mode` asks that cannot be done: STRICT without workload certificates
 * (an error that also keeps the policy from being Programmed), STRICT on an ExternalName service (an
 * error), STRICT on a port with endpoints outside the mesh (a warning). One problem per policy and
 * kind, naming the service ports.
 */
export function mtlsProblems(
  services: readonly ModelService[],
  policyOf: (service: ModelService, port: ModelServicePort) => MergedPolicy | undefined,
  settings: MtlsSettings | undefined,
): PartProblem[] {
  const byPolicy = new Map<string, Gathered>();
  for (const service of services) {
    for (const port of service.ports) {
      const policy = policyOf(service, port);
      const owner = policy?.origins[MODE_FIELD];
      if (!owner || policy?.settings.mtls?.mode !== 'STRICT') continue;
      const g = byPolicy.get(formatRef(owner)) ?? { policy: owner, off: [], external: [], outside: [] };
      byPolicy.set(formatRef(owner), g);
      const where = `${formatRef(service.source)}:${port.port}`;
      if (!settings) g.off.push(where);
      else if (service.kind === 'ExternalName') g.external.push(where);
      else if (port.endpoints.some((e) => !e.mesh)) g.outside.push({ port: where, message: notInMesh(port.endpoints) });
    }
  }
  const field = `spec.${MODE_FIELD}`;
  return [...byPolicy.values()].flatMap((g): PartProblem[] => [
    ...(g.off.length > 0
      ? [
          {
            policy: g.policy,
            field,
            message: `STRICT cannot be enforced: workload certificates are off (Trellis runs without --issuer), so traffic to ${g.off.join(', ')} stays plaintext`,
            severity: 'error' as const,
            blocksProgrammed: NO_CERTIFICATES_REASON,
          },
        ]
      : []),
    ...(g.external.length > 0
      ? [
          {
            policy: g.policy,
            field,
            message: `${g.external.join(', ')} is an ExternalName service, outside the mesh: mutual TLS does not apply and traffic to it is not encrypted by the mesh`,
            severity: 'error' as const,
          },
        ]
      : []),
    ...g.outside.map((o) => ({ policy: g.policy, field, message: `${o.port}: ${o.message}`, severity: 'warning' as const })),
  ]);
}
