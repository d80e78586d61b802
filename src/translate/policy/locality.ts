/**
 * loadBalancing.localityAware and loadBalancing.failover → endpoint priorities that depend on where
 * the proxy runs, as Istio does locality failover. For a proxy in locality P, each locality L of
 * the service port's endpoints is ranked:
 *
 *   0  same region, zone and sub-zone (only when P has a sub-zone)
 *   1  same region and zone
 *   2  same region
 *   3… the `to` of each failover entry whose `from` is P's region or region/zone, in list order
 *   last everything else
 *
 * and the ranks present become priorities 0, 1, 2 … with no gap (gRPC rejects an assignment that
 * skips a priority; endpoints.ts). The assignment keeps its name, so the cluster is unchanged.
 *
 * Regions: an endpoint's region is its Node's `topology.kubernetes.io/region` label, its zone its
 * EndpointSlice's (model/endpoints.ts). An endpoint whose region is known is matched strictly: it
 * is in P's zone, or in a failover place, only when its region is that one too (zone names may
 * repeat across regions). An endpoint with no region (its Node unknown: not named by the slice,
 * not in the inputs, or Trellis may not list Nodes) agrees with any region: in zone z, it is in P's
 * zone when P is in zone z, and in a failover `to` written `region/z`; a `to` that names a region
 * alone does not match it. Likewise a proxy that knows only its zone is in zone z of every region.
 * A `from` or `to` no endpoint is in is simply unused (endpoints come and go; a failover target
 * with none today is a valid standby).
 *
 * Failing over: Envoy sends a priority's share to the next one as that priority's healthy hosts
 * fall below 100% / overprovisioning factor. The factor is left at Envoy's default (1.4, as Istio
 * leaves it): traffic starts to spill over gradually when fewer than ~72% of a priority's hosts
 * are healthy (outlier detection ejects them), rather than all at once when the last one fails,
 * which would pile the whole load onto the last few. Not-ready endpoints are not listed at all
 * (the model drops them), so a locality whose endpoints all turn not-ready leaves its priority
 * empty and its traffic goes to the next at once. When every endpoint is the terminating fallback
 * (DRAINING for sidecars), every priority is 0% healthy: Envoy is in total panic and spreads the
 * load over the priorities by their number of hosts. Proxyless gRPC (grpc-js-xds 1.14,
 * load-balancer-priority.js) ignores the factor: it uses the first priority that has a READY (or
 * IDLE) connection, fails over when that priority reports TRANSIENT_FAILURE or has not connected
 * within 10 s, and drops a priority with no HEALTHY/UNKNOWN endpoint before choosing.
 *
 * Proxies without a locality get the shared assignment (every locality at priority 0), with a
 * warning on the policy; so does a proxy for which the ranking puts everything at one priority.
 * The per-locality assignments are built only for the ports that are locality-aware, once per
 * distinct proxy locality (sidecar.ts, proxyless.ts memoise them).
 */
import { type Diagnostic, type ObjectRef, sortedRefs } from '../../diagnostics.js';
import type { Locality, ModelEndpoint } from '../../model/types.js';
import type { DesiredResource } from '../../envoy/resources.js';
import { localityGroups, type EndpointForm } from '../endpoints.js';
import { translationWarning } from '../translation.js';
import { policyNote } from './notes.js';
import type { PortContext } from './types.js';
import { inPlace, parsePlace, regionsAgree, type Place } from '../../policy/limits.js';

const FIELD = 'loadBalancing.localityAware';
const FAILOVER_FIELD = 'loadBalancing.failover';

/** A region, or a zone of a region: a failover entry's `from` or `to`. */
export interface FailoverRule {
  readonly from: Place;
  readonly to: Place;
}

/** A locality-aware service port (or subset) assignment: what it takes to build it for any proxy. */
export interface LocalityAwareAssignment {
  /** Today's assignment, every locality at priority 0: for proxies without a locality. */
  readonly shared: DesiredResource<'endpoint'>;
  readonly endpoints: readonly ModelEndpoint[];
  readonly form: EndpointForm;
  readonly failover: readonly FailoverRule[];
  /** The policy that asked for it. */
  readonly policy: ObjectRef;
  /** The warning for the translations of proxies without a locality. */
  readonly noLocality: Diagnostic;
}

/** `region` or `region/zone`; undefined for anything else. */
function samePlace(a: Place, b: Place): boolean {
  return a.region === b.region && a.zone === b.zone;
}

/** The failover entries of the port's policy that can be used; the others are reported. */
export function failoverRules(ctx: PortContext, errors: Diagnostic[]): FailoverRule[] {
  const object = ctx.port.policy?.origins[FAILOVER_FIELD] ?? ctx.service.source;
  const rules: FailoverRule[] = [];
  (ctx.port.policy?.settings.loadBalancing?.failover ?? []).forEach((entry, i) => {
    const from = parsePlace(entry.from);
    const to = parsePlace(entry.to);
    if (!from || !to) return; // the model reported it
    if (samePlace(from, to)) {
      errors.push(translationWarning(object, `spec.${FAILOVER_FIELD}[${i}]`, `fails over from ${entry.from} to itself: this entry changes nothing`));
      return;
    }
    rules.push({ from, to });
  });
  return rules;
}

/** True when the port's policy asks for locality-aware load balancing. */
export function isLocalityAware(ctx: PortContext): boolean {
  return ctx.port.policy?.settings.loadBalancing?.localityAware === true;
}

/**
 * The locality-aware description of an assignment (the port's own, or a subset's), or undefined
 * when the port's policy is not locality-aware. Reports the failover entries it cannot use.
 */
export function localityAware(
  ctx: PortContext,
  shared: DesiredResource<'endpoint'>,
  endpoints: readonly ModelEndpoint[],
  form: EndpointForm,
  errors: Diagnostic[],
): LocalityAwareAssignment | undefined {
  if (!isLocalityAware(ctx)) return undefined;
  const noLocality = policyNote(
    ctx,
    FIELD,
    'proxies without a locality (node.locality in their bootstrap) get every endpoint at one priority: they cannot prefer nearby ones',
  );
  return { shared, endpoints, form, failover: failoverRules(ctx, errors), policy: noLocality.object ?? ctx.service.source, noLocality };
}

/** A note when the port's cluster has no assignment for locality awareness to shape (`why`). */
export function localityNotApplicable(ctx: PortContext, why: string, errors: Diagnostic[]): void {
  if (isLocalityAware(ctx)) errors.push(policyNote(ctx, FIELD, `${why}, so locality-aware load balancing does not apply`));
}

function sameZone(l: Locality, proxy: Locality): boolean {
  return proxy.zone !== '' && l.zone === proxy.zone && regionsAgree(l.region, proxy.region);
}

const SUB_ZONE = 0;
const ZONE = 1;
const REGION = 2;
const FAILOVER = 3;

/** The rank of each endpoint locality for a proxy in `proxy` (lower is preferred). */
export function rankOf(proxy: Locality, rules: readonly FailoverRule[]): (l: Locality) => number {
  const targets = rules.filter((r) => inPlace(proxy, r.from)).map((r) => r.to);
  const elsewhere = FAILOVER + targets.length;
  return (l) => {
    if (sameZone(l, proxy)) return proxy.subZone !== '' && l.subZone === proxy.subZone ? SUB_ZONE : ZONE;
    if (proxy.region !== '' && l.region === proxy.region) return REGION;
    const i = targets.findIndex((t) => inPlace(l, t));
    return i < 0 ? elsewhere : FAILOVER + i;
  };
}

/** The assignment a proxy in `proxy` receives: prioritised, or the shared one when all is one priority. */
export function assignmentFor(a: LocalityAwareAssignment, proxy: Locality, shared = a.shared): DesiredResource<'endpoint'> {
  const endpoints = localityGroups(a.endpoints, a.form, rankOf(proxy, a.failover));
  if (endpoints.every((l) => !l.priority)) return shared;
  const name = a.shared.name;
  return { name, message: { cluster_name: name, endpoints }, sources: sortedRefs([...(a.shared.sources ?? []), a.policy]) };
}

/** The shared assignments with the locality-aware ones (by name) built for `proxy`; same order (and the shared object where the priorities would all be one). */
export function withLocality(
  shared: readonly DesiredResource<'endpoint'>[],
  aware: ReadonlyMap<string, LocalityAwareAssignment>,
  proxy: Locality,
): DesiredResource<'endpoint'>[] {
  return shared.map((r) => {
    const a = aware.get(r.name);
    return a ? assignmentFor(a, proxy, r) : r;
  });
}

/** The warnings for a proxy without a locality (one per policy once sorted and deduplicated). */
export function noLocalityNotes(aware: ReadonlyMap<string, LocalityAwareAssignment>): Diagnostic[] {
  return [...aware.values()].map((a) => a.noLocality);
}
