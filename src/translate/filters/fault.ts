/**
 * Fault injection (a TrafficPolicy's `faultInjection`): Envoy's HTTP fault filter
 * (envoy.filters.http.fault, HTTPFault), on the client side of a call.
 *
 * The connection manager of an outbound port carries the filter with an empty configuration (it
 * injects nothing) as soon as one service it routes to asks for faults; each such service's delay
 * and abort sit on its virtual host (`typed_per_filter_config`), which overrides the empty one for
 * its requests only. Istio does the same.
 *
 * Proxyless gRPC implements the filter (gRFC A33; grpc-js-xds http-filter/fault-injection-filter):
 * fixed delays, aborts with `grpc_status` or `http_status` (mapped to a gRPC code: 503 → UNAVAILABLE
 * and so on), FractionalPercent of any denominator, and virtual-host and route overrides. It
 * applies an override only for a filter listed in the connection manager, by name, so the API
 * listener lists it too. It requires `percentage` on delay and abort: always set. gRPC servers do
 * not implement it (it is client-side only there too).
 *
 * grpc-js-xds 1.14 would not apply fault injection added to (or grown in) the policy of a client
 * already running: it takes the route configuration for unchanged, and a Listener update alone for
 * nothing to pass on. The virtual host's name carries a digest of its filter settings so that it
 * does (virtualHostName in ../client-quirks/grpc-js-xds-1.14.ts, with the other grpc-js-xds 1.14
 * workarounds).
 */
import type { Diagnostic } from '../../diagnostics.js';
import { typed } from '../../envoy/codec.js';
import type { HttpFilter } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { FractionalPercent } from '../../envoy/generated/envoy/type/v3/FractionalPercent.js';
import type { Duration } from '../../envoy/generated/google/protobuf/Duration.js';
import type { Any } from '../../envoy/generated/google/protobuf/Any.js';
import type { PolicySettings } from '../../policy/schema.js';
import { FILTER_NAME, MESSAGE } from '../common.js';
import { isPositive, protoDuration } from '../policy/duration.js';
import { policyNote } from '../policy/notes.js';
import type { PortContext } from '../policy/types.js';
import { fractionalPercent } from './percent.js';
import type { HttpFilterContext, HttpFilterFeature } from './types.js';

type FaultInjection = NonNullable<PolicySettings['faultInjection']>;
type GrpcCode = NonNullable<NonNullable<FaultInjection['abort']>['grpcStatus']>;

/** gRPC status codes by name (grpc/status.h). */
const GRPC_CODE: Readonly<Record<GrpcCode, number>> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** envoy.extensions.filters.common.fault.v3.FaultDelay, as Trellis sets it. */
interface FaultDelay {
  readonly fixed_delay: Duration;
  readonly percentage: FractionalPercent;
}

/** envoy.extensions.filters.http.fault.v3.FaultAbort, as Trellis sets it: one of the two statuses. */
interface FaultAbort {
  readonly http_status?: number;
  readonly grpc_status?: number;
  readonly percentage: FractionalPercent;
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault, the fields Trellis sets. */
export interface HTTPFault {
  readonly delay?: FaultDelay;
  readonly abort?: FaultAbort;
}

/** The filter in a connection manager: injects nothing unless a virtual host says otherwise. */
const NO_FAULT_FILTER: HttpFilter = { name: FILTER_NAME.fault, typed_config: typed<HTTPFault>(MESSAGE.fault, {}) };

/** A delay of zero injects nothing (and Envoy requires fixed_delay > 0): none. */
function delayOf(delay: FaultInjection['delay']): FaultDelay | undefined {
  if (!delay) return undefined;
  const fixed = protoDuration(delay.fixedDelay);
  if (!fixed || !isPositive(fixed)) return undefined;
  return { fixed_delay: fixed, percentage: fractionalPercent(delay.percent) };
}

function abortOf(abort: FaultInjection['abort']): FaultAbort | undefined {
  if (!abort) return undefined;
  const percentage = fractionalPercent(abort.percent);
  if (abort.grpcStatus !== undefined) return { grpc_status: GRPC_CODE[abort.grpcStatus], percentage };
  if (abort.httpStatus !== undefined) return { http_status: abort.httpStatus, percentage };
  return undefined;
}

/** The faults a service port's policy injects; undefined when none. */
export function httpFault(ctx: Pick<PortContext, 'port'>): HTTPFault | undefined {
  const fi = ctx.port.policy?.settings.faultInjection;
  if (!fi) return undefined;
  const delay = delayOf(fi.delay);
  const abort = abortOf(fi.abort);
  if (!delay && !abort) return undefined;
  return { ...(delay ? { delay } : {}), ...(abort ? { abort } : {}) };
}

function filter(context: HttpFilterContext): HttpFilter | undefined {
  if (context.direction !== 'outbound') return undefined;
  return (context.services ?? []).some((s) => httpFault(s) !== undefined) ? NO_FAULT_FILTER : undefined;
}

function virtualHostConfig(ctx: PortContext, errors: Diagnostic[]): Any | undefined {
  const delay = ctx.port.policy?.settings.faultInjection?.delay;
  if (delay && !protoDuration(delay.fixedDelay)) {
    errors.push(policyNote(ctx, 'faultInjection.delay', `fixedDelay ${delay.fixedDelay} is longer than Envoy accepts; no delay is injected`));
  }
  const fault = httpFault(ctx);
  return fault ? typed<HTTPFault>(MESSAGE.fault, fault) : undefined;
}

export const fault: HttpFilterFeature = {
  feature: 'fault',
  filterName: FILTER_NAME.fault,
  filter,
  virtualHostConfig,
};
