/**
 * A sidecar's reach: the Pod annotation `trellis.dev/reachable-services` lists the services its
 * sidecar sends to, and the sidecar then receives only those services' clusters, assignments,
 * listeners and routes (and those their routes send to), instead of every service of the mesh.
 * At scale this is what keeps a sidecar's configuration, and the bytes a change costs, in
 * proportion to what it calls (Istio's `Sidecar` egress hosts, Kuma's reachable services).
 *
 * The value is a list separated by commas (spaces allowed) of `namespace/name`, `namespace/*`,
 * `./name` and `./*` (`.`: the pod's own namespace), or `*` (everything: as without the annotation).
 * Traffic to a service outside the list still flows, unmanaged: the sidecar passes it through to the
 * address dialled, without the service's routing, retries, load balancing or mutual TLS.
 *
 * A value that does not parse is an error on the Pod naming the annotation and the entry, and the
 * sidecar reaches every service: scoping is an optimisation, and a typo must not cut traffic.
 */
import { refOf, type Diagnostics } from '../diagnostics.js';
import type { Input, PodObject } from './inputs.js';
import { dns1035Label, dns1123Label, quoted } from './names.js';

export const REACHABLE_ANNOTATION = 'trellis.dev/reachable-services';
export const REACHABLE_FIELD = `metadata.annotations["${REACHABLE_ANNOTATION}"]`;

/** What is wrong with one entry, or undefined when it is good. */
function entryProblem(entry: string): string | undefined {
  const parts = entry.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || namespace === undefined || name === undefined)
    return `entry ${quoted(entry)} must be namespace/name, namespace/*, ./name or ./* (or * alone)`;
  if (namespace !== '.') {
    const bad = dns1123Label(namespace);
    if (bad) return `entry ${quoted(entry)}: the namespace ${bad}`;
  }
  if (name !== '*') {
    const bad = dns1035Label(name);
    if (bad) return `entry ${quoted(entry)}: the service name ${bad}`;
  }
  return undefined;
}

/**
 * The pod's reach as sorted, unique `namespace/name` and `namespace/*` entries (`.` resolved), or
 * undefined for every service: no annotation, `*`, or a value with a bad entry (an error on the Pod).
 */
export function reachableOf(pod: Input<PodObject>, statuses: Diagnostics): readonly string[] | undefined {
  const meta = pod.object.metadata;
  const value = meta.annotations[REACHABLE_ANNOTATION];
  if (value === undefined) return undefined;
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.includes('*')) return undefined;
  const problems = entries.flatMap((e) => entryProblem(e) ?? []);
  if (problems.length > 0) {
    statuses.error(refOf('Pod', meta), pod.origin, REACHABLE_FIELD, `${problems.join('; ')}: the sidecar is not scoped and reaches every service`);
    return undefined;
  }
  const resolved = entries.map((e) => (e.startsWith('./') ? `${meta.namespace}${e.slice(1)}` : e));
  return [...new Set(resolved)].sort();
}

/** Whether a service (`namespace`, `name`) is within a reach (a set of the entries reachableOf gives). */
export function reaches(reach: ReadonlySet<string>, namespace: string, name: string): boolean {
  return reach.has(`${namespace}/*`) || reach.has(`${namespace}/${name}`);
}

/**
 * The entries of a reach that name a Service (`namespace/name`) not among `services` (keys
 * `namespace/name`): the sidecar gets nothing for them until the Service exists. A warning, not an
 * error: a GitOps repository may add the Pod before the Service it calls.
 */
export function missingServices(reach: readonly string[], services: ReadonlySet<string>): string[] {
  return reach.filter((entry) => !entry.endsWith('/*') && !services.has(entry));
}

/** The warning on a Pod whose reach names Services that do not exist. */
export function missingServicesMessage(missing: readonly string[]): string {
  const list = missing.map((m) => `Service ${m}`).join(', ');
  return `names ${list}, which ${missing.length === 1 ? 'does' : 'do'} not exist: the sidecar gets nothing for ${missing.length === 1 ? 'it' : 'them'} until ${missing.length === 1 ? 'it does' : 'they do'}, and traffic to ${missing.length === 1 ? 'it' : 'them'} passes through unmanaged`;
}
