/**
 * Authorization (a TrafficPolicy's `authorization`) on HTTP ports: Envoy's RBAC HTTP filter
 * (envoy.filters.http.rbac, envoy.extensions.filters.http.rbac.v3.RBAC) in the connection manager of
 * the target's workloads, inbound: the sidecar's virtualInbound chain of the workload port, and a
 * proxyless gRPC server's listener (gRFC A41). The rules come from ../authorization.ts.
 *
 * Two filters, DENY then ALLOW, as Envoy's usual pattern (and Istio's): a request a DENY rule matches
 * is refused (HTTP 403, gRPC PERMISSION_DENIED) before any ALLOW is looked at; then, when an ALLOW
 * policy applies, a request no ALLOW rule matches is refused. Their names differ
 * (`envoy.filters.http.rbac.deny`, `.allow`): gRPC refuses a connection manager naming two filters
 * alike. Neither is optional: a client that does not implement RBAC must reject the listener
 * (grpc-js-xds 1.14 implements it only with GRPC_XDS_EXPERIMENTAL_RBAC=true), never serve without it.
 *
 * gRPC servers reject an RBAC filter without `rules` and the LOG action: every filter carries rules,
 * ALLOW or DENY. Their stats are told apart by `rules_stat_prefix` (Envoy; gRPC ignores it).
 */
import { typed } from '../../envoy/codec.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { portAuthorization, type PortAuthorization, type RbacRules } from '../authorization.js';
import { FILTER_NAME, MESSAGE } from '../common.js';
import type { HttpFilterContext, HttpFilterFeature } from './types.js';

/** envoy.extensions.filters.http.rbac.v3.RBAC, the fields Trellis sets. */
export interface HttpRbac {
  readonly rules: RbacRules;
  readonly rules_stat_prefix: string;
}

/** The rules the connection manager's port enforces (inbound only). */
function rulesOf(context: HttpFilterContext): PortAuthorization | undefined {
  if (context.direction !== 'inbound') return undefined;
  return portAuthorization(context.services ?? [], context.trustDomain ?? '', true, `port ${context.port}`);
}

function rbacFilter(name: string, rules: RbacRules | undefined, statPrefix: string): HttpFilter | undefined {
  if (!rules) return undefined;
  return { name, typed_config: typed<HttpRbac>(MESSAGE.httpRbac, { rules, rules_stat_prefix: statPrefix }) };
}

export const authorizationDeny: HttpFilterFeature = {
  feature: 'authorization-deny',
  filterName: FILTER_NAME.httpRbacDeny,
  filter: (context) => rbacFilter(FILTER_NAME.httpRbacDeny, rulesOf(context)?.deny, 'deny_'),
};

export const authorizationAllow: HttpFilterFeature = {
  feature: 'authorization-allow',
  filterName: FILTER_NAME.httpRbacAllow,
  filter: (context) => rbacFilter(FILTER_NAME.httpRbacAllow, rulesOf(context)?.allow, 'allow_'),
};
