/**
 * The cluster-level sections of a TrafficPolicy (load balancing, connection pool, outlier
 * detection, connect and idle timeouts), applied to a service port's outbound cluster, for Envoy
 * sidecars and proxyless gRPC alike. One file per section; each gives the cluster fields it sets
 * and notes what it cannot honour (a proxyless gRPC client lacking a feature, say) in `errors`.
 */
import type { Diagnostic, ObjectRef } from '../../diagnostics.js';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import { fieldSources } from '../../policy/merge.js';
import { clusterTimeoutFields } from './cluster-timeouts.js';
import { connectionPoolFields } from './connection-pool.js';
import { loadBalancingFields } from './load-balancing.js';
import { outlierDetectionFields } from './outlier-detection.js';
import type { PortContext } from './types.js';

/** The fields of a policy that shape a cluster. */
export const CLUSTER_FIELDS = ['loadBalancing.algorithm', 'connectionPool.*', 'outlierDetection.*', 'timeouts.connect', 'timeouts.idle'] as const;

/** The policies that shape the cluster: what its `sources` add (a NACK of the cluster is traced to them). */
export function clusterPolicySources(ctx: PortContext): ObjectRef[] {
  return fieldSources(ctx.port.policy, ...CLUSTER_FIELDS);
}

/**
 * The cluster with the port's policy applied: the very same object when no policy applies or
 * the policy sets nothing of the cluster (the snapshot cache relies on identity).
 */
export function withClusterPolicy(cluster: Cluster, ctx: PortContext, errors: Diagnostic[]): Cluster {
  if (!ctx.port.policy) return cluster;
  const fields: Partial<Cluster> = {
    ...loadBalancingFields(cluster, ctx, errors),
    ...connectionPoolFields(ctx, errors),
    ...outlierDetectionFields(ctx, errors),
    ...clusterTimeoutFields(ctx, errors),
  };
  return Object.keys(fields).length === 0 ? cluster : { ...cluster, ...fields };
}
