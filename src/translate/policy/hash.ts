/**
 * `loadBalancing.hash` → the hash_policy of every route of the service port: the key ring hash and
 * maglev hash on (the algorithm itself is the cluster's, policy/cluster.ts).
 *
 *   header    hash_policy.header.header_name (lowercased)
 *   cookie    hash_policy.cookie { name, ttl, path } (a ttl makes Envoy set the cookie when absent)
 *   sourceIP  hash_policy.connection_properties.source_ip
 *
 * Proxyless gRPC (gRFC A42) hashes on headers only (never on `-bin` ones): a cookie or source IP
 * key is left out with a note, and gRPC then hashes each call at random.
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import { notImplementedByGrpc } from './notes.js';
import { policyDuration } from './route-timeouts.js';
import type { PortContext } from './types.js';

type HashPolicy = NonNullable<RouteAction['hash_policy']>[number];

const RANDOM = 'each call is hashed at random';

function cookieHash(ctx: PortContext, cookie: { name: string; ttl?: string | undefined; path?: string | undefined }, errors: Diagnostic[]): HashPolicy {
  const ttl = cookie.ttl === undefined ? undefined : policyDuration(ctx, 'loadBalancing.hash', cookie.ttl, errors);
  return { cookie: { name: cookie.name, ...(ttl ? { ttl } : {}), ...(cookie.path !== undefined ? { path: cookie.path } : {}) } };
}

function grpcHash(ctx: PortContext, errors: Diagnostic[]): HashPolicy[] | undefined {
  const hash = ctx.port.policy?.settings.loadBalancing?.hash;
  if (!hash) return undefined;
  if (hash.header) {
    const name = hash.header.name.toLowerCase();
    if (!name.endsWith('-bin')) return [{ header: { header_name: name } }];
    errors.push(notImplementedByGrpc(ctx, 'loadBalancing.hash', 'hashing on binary (-bin) headers', RANDOM));
    return undefined;
  }
  const what = hash.cookie ? 'hashing on a cookie' : 'hashing on the source IP';
  errors.push(notImplementedByGrpc(ctx, 'loadBalancing.hash', what, `it hashes on headers only; ${RANDOM}`));
  return undefined;
}

/** The hash policies of every route of the port, if the policy sets a hash key. */
export function hashPolicies(ctx: PortContext, errors: Diagnostic[]): HashPolicy[] | undefined {
  if (ctx.target === 'proxyless') return grpcHash(ctx, errors);
  const hash = ctx.port.policy?.settings.loadBalancing?.hash;
  if (!hash) return undefined;
  if (hash.header) return [{ header: { header_name: hash.header.name.toLowerCase() } }];
  if (hash.cookie) return [cookieHash(ctx, hash.cookie, errors)];
  if (hash.sourceIP) return [{ connection_properties: { source_ip: true } }];
  return undefined;
}
