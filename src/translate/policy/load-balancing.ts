/**
 * loadBalancing.algorithm → the cluster's lb_policy (and, for ring hash, its ring_hash_lb_config).
 * The hash key of ringHash and maglev (hash.header/cookie/sourceIP) is a route setting: see
 * hash.ts. localityAware and failover shape the endpoints, not the cluster: see locality.ts.
 *
 * Proxyless gRPC (grpc-js-xds 1.14, cluster-resource-type.js) accepts only ROUND_ROBIN and
 * RING_HASH, and a ring_hash_lb_config only with the XX_HASH hash function and ring sizes up to
 * 8M: the other algorithms fall back to round robin, with a note on the policy.
 *
 * A headless service's sidecar cluster is ORIGINAL_DST: it connects to the pod address the client
 * dialled and takes no lb_policy but CLUSTER_PROVIDED, so the algorithm does not apply there.
 */
import { type Diagnostic, formatRef } from '../../diagnostics.js';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { PolicySettings } from '../../policy/schema.js';
import { notImplementedByGrpc, policyNote } from './notes.js';
import type { PortContext } from './types.js';

export type Algorithm = NonNullable<PolicySettings['loadBalancing']>['algorithm'];

const FIELD = 'loadBalancing.algorithm';

export const LB_POLICY: Readonly<Record<Algorithm, NonNullable<Cluster['lb_policy']>>> = {
  roundRobin: 'ROUND_ROBIN',
  leastRequest: 'LEAST_REQUEST',
  random: 'RANDOM',
  ringHash: 'RING_HASH',
  maglev: 'MAGLEV',
};

/** What proxyless gRPC implements. */
const GRPC_ALGORITHMS: ReadonlySet<Algorithm> = new Set<Algorithm>(['roundRobin', 'ringHash']);

/**
 * The ring both kinds of client build: xxHash (the only hash function gRPC accepts) and a minimum
 * of 1024 entries, pinned so that Envoy and gRPC agree whatever their defaults become.
 */
export const RING_HASH_CONFIG: NonNullable<Cluster['ring_hash_lb_config']> = { hash_function: 'XX_HASH', minimum_ring_size: { value: 1024 } };

function algorithmFields(algorithm: Algorithm): Pick<Cluster, 'lb_policy' | 'ring_hash_lb_config'> {
  const lb_policy = LB_POLICY[algorithm];
  return algorithm === 'ringHash' ? { lb_policy, ring_hash_lb_config: RING_HASH_CONFIG } : { lb_policy };
}

/** The cluster fields of loadBalancing (none when the policy does not set the algorithm). */
export function loadBalancingFields(cluster: Cluster, ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  const algorithm = ctx.port.policy?.settings.loadBalancing?.algorithm;
  if (algorithm === undefined) return {};
  if (cluster.type === 'ORIGINAL_DST') {
    errors.push(
      policyNote(
        ctx,
        FIELD,
        `${formatRef(ctx.service.source)} is headless: sidecars send each connection to the pod address the client dialled, so the ${algorithm} algorithm does not apply`,
      ),
    );
    return {};
  }
  if (ctx.target === 'proxyless' && !GRPC_ALGORITHMS.has(algorithm)) {
    errors.push(notImplementedByGrpc(ctx, FIELD, `the ${algorithm} algorithm`, 'round robin is used'));
    return algorithmFields('roundRobin');
  }
  return algorithmFields(algorithm);
}
