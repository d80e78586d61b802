/**
 * Kubernetes' own rules for names (k8s.io/apimachinery/pkg/util/validation), as zod schemas for the
 * input kinds. Sources parse every object with these, so an object the API server would refuse is an
 * error on that object and field, and changes nothing else: a name with a newline or a space never
 * reaches a route's domains, a cluster name or a SPIFFE identity, where Envoy would refuse the whole
 * resource that other objects share.
 *
 * - DNS-1123 label: namespaces, container names, Service and EndpointSlice port names, hostnames
 * - DNS-1123 subdomain: names of Pods, Nodes, EndpointSlices, TrafficPolicies; service accounts; node names
 * - DNS-1035 label: Service names (they become DNS labels: `<service>.<namespace>.svc`)
 * - qualified name (`[prefix/]name`): label keys, appProtocol; label values
 * - IANA_SVC_NAME: container port names, and a Service's targetPort given by name
 */
import { z } from 'zod';

/** What a rule found wrong with a value, or undefined when it holds. */
type Rule = (value: string) => string | undefined;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[-a-z0-9]+$/;

const LABEL_MAX = 63;
const SUBDOMAIN_MAX = 253;
const IANA_SVC_NAME_MAX = 15;
/** How much of a bad value a message quotes. */
const QUOTED_MAX = 80;

/** The value as a JSON string (control characters visible), shortened when long. */
export function quoted(value: string): string {
  const shown = value.length > QUOTED_MAX ? `${value.slice(0, QUOTED_MAX)}…` : value;
  return JSON.stringify(shown);
}

function rule(pattern: RegExp, max: number, what: string): Rule {
  return (value) => {
    if (value.length > max) return `${what}: at most ${max} characters, found ${value.length}`;
    return pattern.test(value) ? undefined : `${what}, found ${quoted(value)}`;
  };
}

export const dns1123Label: Rule = rule(
  DNS1123_LABEL,
  LABEL_MAX,
  "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. 'my-name')",
);

export const dns1123Subdomain: Rule = rule(
  DNS1123_SUBDOMAIN,
  SUBDOMAIN_MAX,
  "must be a DNS-1123 subdomain (DNS-1123 labels joined by '.': lower-case letters, digits, '-' and '.', e.g. 'example.com')",
);

export const dns1035Label: Rule = rule(
  DNS1035_LABEL,
  LABEL_MAX,
  "must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, e.g. 'my-name')",
);

const QUALIFIED_NAME_PART = "letters, digits, '-', '_' and '.', starting and ending with a letter or digit";

/** A label value: empty, or up to 63 characters of a qualified name's name part. */
export const labelValue: Rule = (value) =>
  value === '' ? undefined : rule(QUALIFIED_NAME, LABEL_MAX, `must be empty or ${QUALIFIED_NAME_PART} (e.g. 'v1.2')`)(value);

/** A label key (also appProtocol): `name` or `prefix/name`, the prefix a DNS-1123 subdomain. */
export const qualifiedName: Rule = (value) => {
  const parts = value.split('/');
  const [prefix, name] = parts.length === 2 ? parts : [undefined, value];
  const shape = `must be a qualified name ([prefix/]name: the name ${QUALIFIED_NAME_PART}, the optional prefix a DNS-1123 subdomain, e.g. 'example.com/my-name')`;
  if (parts.length > 2 || name === undefined) return `${shape}, found ${quoted(value)}`;
  if (prefix !== undefined) {
    if (prefix === '') return `${shape}: the prefix is empty, found ${quoted(value)}`;
    const bad = dns1123Subdomain(prefix);
    if (bad) return `${shape}: its prefix ${bad}`;
  }
  if (name.length > LABEL_MAX) return `${shape}: the name has at most ${LABEL_MAX} characters, found ${name.length}`;
  return QUALIFIED_NAME.test(name) ? undefined : `${shape}, found ${quoted(value)}`;
};

/** A port name of a container, or a targetPort by name (RFC 6335). */
export const ianaSvcName: Rule = (value) => {
  const shape =
    "must be an IANA service name (at most 15 lower-case letters, digits and '-', with at least one letter, no '--', not starting or ending with '-')";
  if (value.length > IANA_SVC_NAME_MAX) return `${shape}, found ${value.length} characters`;
  const holds = IANA_SVC_NAME.test(value) && /[a-z]/.test(value) && !value.includes('--') && !value.startsWith('-') && !value.endsWith('-');
  return holds ? undefined : `${shape}, found ${quoted(value)}`;
};

/** A string that must hold the rule. */
export function checked(check: Rule, base: z.ZodString = z.string()): z.ZodString {
  return base.check((ctx) => {
    const bad = check(ctx.value);
    if (bad) ctx.issues.push({ code: 'custom', message: bad, input: ctx.value });
  });
}

/** A map of labels (or a selector): every key a qualified name, every value a label value; each problem on its key. */
export const labelMap = z.record(z.string(), z.string()).check((ctx) => {
  for (const [key, value] of Object.entries(ctx.value)) {
    const badKey = qualifiedName(key);
    const badValue = badKey ? undefined : labelValue(value);
    const bad = badKey ? `label key ${badKey}` : badValue ? `label value ${badValue}` : undefined;
    if (bad) ctx.issues.push({ code: 'custom', message: bad, input: ctx.value, path: [key] });
  }
});

/**
 * A Service's ports by name: with more than one port each needs a name, and no name may be used twice
 * (an EndpointSlice port, a policy's sectionName and a named targetPort pick a port by its name).
 */
export function servicePortNames(ports: readonly { readonly name: string }[]): { readonly index: number; readonly message: string }[] {
  const seen = new Map<string, number>();
  const problems: { index: number; message: string }[] = [];
  ports.forEach((p, index) => {
    if (p.name === '') {
      if (ports.length > 1) problems.push({ index, message: 'required when a Service has more than one port' });
      return;
    }
    const first = seen.get(p.name);
    if (first !== undefined) problems.push({ index, message: `${quoted(p.name)} is already the name of ports[${first}]` });
    else seen.set(p.name, index);
  });
  return problems;
}
