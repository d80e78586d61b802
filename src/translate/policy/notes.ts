/**
 * What a policy translator says about a policy field it cannot honour as written: a
 * Diagnostic on the policy the field came from (its `origins`), with the field's path in the
 * TrafficPolicy (`spec.loadBalancing.algorithm`). They are warnings (severity 'warning'): in the
 * logs, /debug/configz and `trellis render`, without failing anything. Most are "proxyless gRPC does not implement X": gRPC implements only part of
 * Envoy's API, and a setting it lacks is left out of its resources rather than sent for gRPC to
 * reject.
 */
import { type Diagnostic, formatRef } from '../../diagnostics.js';
import type { PortContext } from './types.js';

/** `Service namespace/name:port`: a service port, as in a policy's attachedTo. */
export function portRef(ctx: PortContext): string {
  return `${formatRef(ctx.service.source)}:${ctx.port.port}`;
}

/**
 * A note about the policy field `path` (`outlierDetection.consecutive5xx`, relative to `spec`; a
 * unit of merging, as in `origins`), reported on the policy that set it (the service, should the
 * field have no recorded origin). `within` narrows the reported field (`threshold`).
 */
export function policyNote(ctx: PortContext, path: string, message: string, within?: string): Diagnostic {
  const field = `spec.${path}${within ? `.${within}` : ''}`;
  return { object: ctx.port.policy?.origins[path] ?? ctx.service.source, field, message, severity: 'warning' };
}

/**
 * proxyless gRPC lacks what `path` asks for; `instead` says what happens (`round robin is used`).
 * The message names no service port: a policy's note is the same for every port it applies to,
 * and is reported once.
 */
export function notImplementedByGrpc(ctx: PortContext, path: string, what: string, instead: string): Diagnostic {
  return policyNote(ctx, path, `proxyless gRPC does not implement ${what}: ${instead}`);
}
