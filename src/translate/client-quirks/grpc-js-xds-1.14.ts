/**
 * Every workaround Trellis carries for grpc-js-xds 1.14, the xDS client of @grpc/grpc-js-xds, in one
 * place (ARCHITECTURE.md convention 18). Each entry says what that client does, what Trellis does
 * about it, and when the workaround can go. Translation calls these; no other module carries
 * grpc-js-xds workaround logic.
 *
 * test/translate/grpc-js-xds-quirks.test.ts shows each quirk with the installed grpc-js-xds (its own
 * decoding, comparison and resolver code), fails when a workaround is taken out, and fails as soon
 * as the installed grpc-js-xds is not GRPC_JS_XDS_VERSION: on an upgrade, run it, drop each
 * workaround whose quirk test now says the quirk is gone, then move GRPC_JS_XDS_VERSION on.
 *
 * Not workarounds, so not here: what gRPC itself specifies, which every gRPC client does and
 * translation follows (a retry back-off base under 1 ms is NACKed, gRFC A44, policy/retries.ts; only
 * HEALTHY and UNKNOWN endpoints are used, gRFC A27, proxylessHealth in proxyless-outbound.ts; the
 * load-balancing policies and filters gRPC implements), and descriptions of how grpc-js-xds
 * implements a feature (policy/load-balancing.ts, policy/locality.ts, filters/fault.ts). Mutual TLS
 * needs none: a cluster or server listener that gains, loses or changes its TLS is seen by a running
 * client (test/translate/grpc-js-xds-mtls.test.ts).
 */
import { createHash } from 'node:crypto';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import type { PerFilterConfig } from '../filters/types.js';

/**
 * The grpc-js-xds version these workarounds were checked against. Not read from node_modules at run
 * time: the test compares it with the installed version, so that an upgrade re-checks each quirk.
 */
export const GRPC_JS_XDS_VERSION = '1.14.1';

// ---------------------------------------------------------------------------------------------
// A resource compared by the keys of the one held (grpc/grpc-node#3074)
//
// grpc-js-xds 1.14 decides whether a resource it receives changed by comparing its decoded form
// with the one it holds (xds-resource-type.js XdsResourceType.resourcesEqual, a deepEqual that
// walks Object.entries of the held value only; xds-client.js drops the update when "equal", and
// still ACKs it). So a key or map entry that only the new resource has is not seen, and packed
// bytes (an Any's value, a Buffer) compare by the held bytes only: new bytes that start with the
// old ones look the same. The update is ACKed and never applied by a client that was running.
//
// Goes when grpc-js-xds compares whole resources (grpc/grpc-node#3074 fixed): the quirk tests then
// fail on "still takes it for no change", and the two workarounds below, the golden files' no-op
// outlier_detection and the digest in virtual host names go with them (UPDATE_GOLDEN=1).
//
// That running clients do apply what policies add is shown end to end, with grpc-js-xds clients
// connected before the policy: test/e2e/policy-resilience.test.ts ("ejects an endpoint … for a
// client connected before the policy") and test/e2e/policy-faults.test.ts ("injects the abort/delay
// … for a client connected before the policy", "applies a change to a running client: a delay-only
// policy that gains an abort injects both").

/**
 * An outlier detection that ejects nothing: success-rate ejection, the only kind on by default, off.
 * What every proxyless cluster carries when no policy sets outlier detection.
 */
export const NO_EJECTION: NonNullable<Cluster['outlier_detection']> = { enforcing_success_rate: { value: 0 } };

/**
 * The outlier detection to put in every proxyless cluster (a policy's own replaces it).
 *
 * grpc-js-xds 1.14 (cluster-resource-type.js convertOutlierDetectionUpdate) decodes a cluster
 * without outlier_detection to `{ child_policy: [] }` and one with it to an object with every
 * setting's key: held without, a cluster that gains outlier detection from a policy compares equal
 * and the policy never applies. Holding one that ejects nothing from the start, the client holds
 * every key, and a policy's settings are seen.
 */
export function outlierDetectionPlaceholder(): Pick<Cluster, 'outlier_detection'> {
  return { outlier_detection: NO_EJECTION };
}

/**
 * The name of a service port's virtual host: the route configuration's name, plus, when it has
 * filter settings (typed_per_filter_config), the filters and a digest of those settings
 * (`…:50051 [envoy.filters.http.fault 3f9a1c0e]`).
 *
 * grpc-js-xds 1.14 would take a virtual host whose typed_per_filter_config gains its first entry
 * (a fault policy added) for unchanged, and so settings whose old bytes are a prefix of the new ones
 * (a delay, then a delay and an abort). A changed name it does see. The same rename carries the
 * fault filter that the API listener gains at the same time: grpc-js-xds (xds-dependency-manager.js,
 * its Listener watcher) passes on a Listener update that keeps the route configuration's name only
 * when the route configuration next changes, and the filter list and the virtual host's filter
 * settings change together (filters/index.ts).
 */
export function virtualHostName(routeName: string, filters: PerFilterConfig | undefined): string {
  if (!filters) return routeName;
  const digest = createHash('sha256').update(JSON.stringify(filters)).digest('hex').slice(0, 8);
  return `${routeName} [${Object.keys(filters).sort().join(',')} ${digest}]`;
}

// ---------------------------------------------------------------------------------------------
// Retry back-off intervals of a second or more

/**
 * Whether grpc-js-xds 1.14 misreads this retry back-off interval: it does for every one of 1 s or
 * more. resolver-xds.js (protoDurationToSecondsString) writes a Duration as service-config text by
 * adding the fraction to `seconds`, which it decodes as a string: 1.5s becomes '10.5s', 2s '20s'
 * (under a second, '0' + '0.25' is '00.25s', which reads right).
 *
 * Trellis leaves such an interval out for proxyless clients, with a note on the policy
 * (backOffMisreadNote): without base_interval gRPC backs off from 25 ms up to 250 ms, without
 * max_interval up to 10 × base_interval (policy/retries.ts). Goes when grpc-js-xds formats
 * Durations correctly: the quirk test then fails on "still reads 1.5s as 10.5s".
 */
export function misreadsBackOff(interval: Duration): boolean {
  return Number(interval.seconds ?? 0) >= 1;
}

/** Why a back-off interval (`value`, as the policy wrote it) is left out for proxyless clients. */
export function backOffMisreadNote(value: string): string {
  return `grpc-js-xds misreads back-off intervals of 1s or more (${value})`;
}
