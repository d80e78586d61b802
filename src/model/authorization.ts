/**
 * Authorization (a TrafficPolicy's `spec.authorization`) in the model, resolved once here so that
 * translation only reads it.
 *
 * Unlike every other section it is not merged: each accepted policy's authorization applies, side
 * by side, to every service port the policy attaches to (`ModelServicePort.authorization`, sorted
 * by policy). Translation enforces them on the inbound side of the workloads behind the port, DENY
 * before ALLOW.
 *
 * What only the model can check makes the policy invalid (Accepted=False, reason Invalid, naming the
 * field; its last good version stays in force when that one still holds): an identity outside the
 * trust domain Trellis runs with, paths or methods that would apply to a TCP port, a `to.ports` entry
 * that is not a port the policy attaches to, an ExternalName target (no workload of the mesh serves it).
 *
 * What holds but cannot be enforced as promised:
 *   - identities and namespaces without workload certificates (Trellis runs without --issuer): no
 *     caller has one, so such a rule matches no request — a DENY rule refuses no one, an ALLOW rule
 *     lets no one in. An error on the policy (PartiallyInvalid) and Programmed=False with reason
 *     NoWorkloadCertificates, never a silently weaker rule. Rules with only `to` need no certificate.
 *   - a DENY rule naming callers on a PERMISSIVE port: plaintext callers have no identity and are not
 *     refused by it. A warning.
 */
import { formatRef, type ObjectRef } from '../diagnostics.js';
import type { AuthorizationRule, AuthorizationSpec, TrafficPolicySpec } from '../policy/schema.js';
import { NO_CERTIFICATES_REASON } from './mtls.js';
import type { PartProblem } from './policy-checks.js';
import type { ModelAuthorization, ModelService, ModelServicePort, MtlsMode, MtlsSettings } from './types.js';

/** A service port a policy attaches to. */
export interface AttachedPort {
  readonly service: ModelService;
  readonly port: ModelServicePort;
}

/** A field of a policy and what is wrong with it (from the object's root). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

const AT = 'spec.authorization';

/** `spiffe://<td>/ns/<namespace>/`: what every identity of a namespace starts with. */
export function namespacePrefix(trustDomain: string, namespace: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/`;
}

/** The trust domain of a SPIFFE ID the schema admitted. */
function trustDomainOf(identity: string): string {
  return identity.slice('spiffe://'.length).split('/')[0] ?? '';
}

const where = (a: AttachedPort) => `${formatRef(a.service.source)}:${a.port.port}`;

function fromProblems(rule: AuthorizationRule, at: string, trustDomain: string): FieldProblem[] {
  return (rule.from ?? []).flatMap((entry, j) =>
    (entry.identities ?? []).flatMap((id, k) =>
      trustDomainOf(id) === trustDomain
        ? []
        : [
            {
              field: `${at}.from[${j}].identities[${k}]`,
              message: `${id} is outside the trust domain ${trustDomain}: no workload of this mesh has it, and no certificate of another would be accepted`,
            },
          ],
    ),
  );
}

function toProblems(rule: AuthorizationRule, at: string, attached: readonly AttachedPort[]): FieldProblem[] {
  const attachedText = attached.map(where).join(', ');
  return (rule.to ?? []).flatMap((entry, j) => {
    const out: FieldProblem[] = [];
    (entry.ports ?? []).forEach((n, k) => {
      if (!attached.some((a) => a.port.port === n)) {
        out.push({ field: `${at}.to[${j}].ports[${k}]`, message: `port ${n} is not a port the policy attaches to (${attachedText})` });
      }
    });
    const tcp = attached.filter((a) => a.port.protocol === 'tcp' && (entry.ports === undefined || entry.ports.includes(a.port.port)));
    for (const field of ['paths', 'methods'] as const) {
      if (entry[field] === undefined || tcp.length === 0) continue;
      const message = `${field} apply to HTTP requests, and ${tcp.map(where).join(', ')} ${tcp.length === 1 ? 'is a TCP port' : 'are TCP ports'}: name the HTTP ports in this entry's ports, or target them alone`;
      out.push({ field: `${at}.to[${j}].${field}`, message });
    }
    return out;
  });
}

/**
 * What makes a spec's authorization invalid here, given the service ports it attaches to and the
 * trust domain: the fields and why. None when it has no authorization.
 */
export function authorizationErrors(spec: TrafficPolicySpec, attached: readonly AttachedPort[], trustDomain: string): FieldProblem[] {
  const authz = spec.authorization;
  if (!authz) return [];
  const external = [...new Set(attached.filter((a) => a.service.kind === 'ExternalName').map((a) => formatRef(a.service.source)))];
  return [
    ...external.map((s) => ({
      field: AT,
      message: `${s} is an ExternalName service: authorization is enforced by the proxies of the workloads behind a Service, and no workload of the mesh serves it`,
    })),
    ...authz.rules.flatMap((rule, i) => [
      ...fromProblems(rule, `${AT}.rules[${i}]`, trustDomain),
      ...(attached.length > 0 ? toProblems(rule, `${AT}.rules[${i}]`, attached) : []),
    ]),
  ];
}

/** One accepted policy's authorization and the service ports (`Service ns/name:port`) it attaches to. */
export interface AttachedAuthorization {
  readonly policy: ObjectRef;
  readonly authorization: AuthorizationSpec;
  readonly attachedTo: readonly string[];
}

/** Every port's authorizations, by `Service namespace/name:port`, each list sorted by policy. */
export function authorizationsByPort(attached: readonly AttachedAuthorization[]): Map<string, ModelAuthorization[]> {
  const byPort = new Map<string, ModelAuthorization[]>();
  const sorted = [...attached].sort((a, b) => (formatRef(a.policy) < formatRef(b.policy) ? -1 : 1));
  for (const a of sorted) {
    const entry: ModelAuthorization = { policy: a.policy, action: a.authorization.action, rules: a.authorization.rules };
    for (const port of a.attachedTo) byPort.set(port, [...(byPort.get(port) ?? []), entry]);
  }
  return byPort;
}

const namesCallers = (rule: AuthorizationRule) => (rule.from ?? []).length > 0;

/** Without workload certificates, each rule naming callers: an error that also keeps the policy from being Programmed. */
function certificateProblems(a: AttachedAuthorization): PartProblem[] {
  return a.authorization.rules.flatMap((rule, i): PartProblem[] => {
    if (!namesCallers(rule)) return [];
    const effect =
      a.authorization.action === 'DENY'
        ? 'this DENY rule refuses no one'
        : 'this ALLOW rule lets no one in, and the callers it names are refused with everyone no rule allows';
    return [
      {
        policy: a.policy,
        field: `${AT}.rules[${i}].from`,
        message: `identities and namespaces cannot be enforced: workload certificates are off (Trellis runs without --issuer), so no caller has one: ${effect}`,
        severity: 'error',
        blocksProgrammed: NO_CERTIFICATES_REASON,
      },
    ];
  });
}

/** With certificates, each DENY rule naming callers on a PERMISSIVE port: plaintext callers are not refused by it. */
function permissiveProblems(a: AttachedAuthorization, modeOf: (port: string) => MtlsMode | undefined): PartProblem[] {
  if (a.authorization.action !== 'DENY') return [];
  const permissive = a.attachedTo.filter((p) => modeOf(p) === 'PERMISSIVE');
  if (permissive.length === 0) return [];
  return a.authorization.rules.flatMap((rule, i): PartProblem[] =>
    namesCallers(rule)
      ? [
          {
            policy: a.policy,
            field: `${AT}.rules[${i}].from`,
            message: `${permissive.join(', ')} accept${permissive.length === 1 ? 's' : ''} plaintext (PERMISSIVE): a plaintext caller has no identity or namespace, and this rule does not refuse it; make the service STRICT`,
            severity: 'warning',
          },
        ]
      : [],
  );
}

/**
 * What the accepted policies' authorization asks that cannot be enforced as written: rules naming
 * callers without workload certificates (`mtls` absent), DENY rules naming callers on PERMISSIVE
 * ports (`modeOf`: the mTLS mode of a service port, by `Service ns/name:port`).
 */
export function authorizationProblems(
  attached: readonly AttachedAuthorization[],
  mtls: MtlsSettings | undefined,
  modeOf: (port: string) => MtlsMode | undefined,
): PartProblem[] {
  return attached.flatMap((a) => (mtls ? permissiveProblems(a, modeOf) : certificateProblems(a)));
}
