/**
 * connectionPool → the cluster's circuit_breakers: one threshold of DEFAULT priority with the
 * limits the policy sets (Envoy's defaults, 1024 each and 3 retries, for the others).
 *
 * Proxyless gRPC honours only max_requests of the DEFAULT threshold (gRFC A32): it gets only that,
 * and each other limit is noted as not implemented.
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { _envoy_config_cluster_v3_CircuitBreakers_Thresholds as Thresholds } from '../../envoy/generated/envoy/config/cluster/v3/CircuitBreakers.js';
import type { PolicySettings } from '../../policy/schema.js';
import { notImplementedByGrpc } from './notes.js';
import type { PortContext } from './types.js';

type ConnectionPool = NonNullable<PolicySettings['connectionPool']>;

/** Policy field → threshold field. */
const LIMITS = [
  ['maxConnections', 'max_connections'],
  ['maxPendingRequests', 'max_pending_requests'],
  ['maxRequests', 'max_requests'],
  ['maxRetries', 'max_retries'],
] as const satisfies readonly (readonly [keyof ConnectionPool, keyof Thresholds])[];

/** The one limit gRPC enforces. */
const GRPC_LIMIT: keyof ConnectionPool = 'maxRequests';

function circuitBreakers(threshold: Thresholds): Pick<Cluster, 'circuit_breakers'> {
  return { circuit_breakers: { thresholds: [threshold] } };
}

/** The cluster fields of connectionPool (none when it sets no limit the target honours). */
export function connectionPoolFields(ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  const pool = ctx.port.policy?.settings.connectionPool;
  if (!pool) return {};
  const threshold: Thresholds = { priority: 'DEFAULT' };
  let limits = 0;
  for (const [field, envoyField] of LIMITS) {
    const value = pool[field];
    if (value === undefined) continue;
    if (ctx.target === 'proxyless' && field !== GRPC_LIMIT) {
      errors.push(
        notImplementedByGrpc(ctx, `connectionPool.${field}`, `connectionPool.${field}`, 'it is left out; gRPC enforces only connectionPool.maxRequests'),
      );
      continue;
    }
    threshold[envoyField] = { value };
    limits++;
  }
  return limits > 0 ? circuitBreakers(threshold) : {};
}
