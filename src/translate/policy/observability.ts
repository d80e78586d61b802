/**
 * Observability (a TrafficPolicy's `observability`): access logs and tracing, on the server side.
 * The sidecar of each workload behind the target service logs and samples what it receives on the
 * workload port the service port targets: both go on the HTTP connection manager of that port's
 * filter chain in virtualInbound (listeners-inbound.ts).
 *
 *   accessLog  envoy.access_loggers.stdout (StdoutAccessLog, so /dev/stdout of the proxy), as text
 *              or JSON, with the fields below
 *   tracing    HttpConnectionManager.tracing with random_sampling = samplingPercent. The tracer
 *              itself (Zipkin, OpenTelemetry ...) is not chosen here: with no `provider` in the
 *              connection manager, Envoy uses the one of its bootstrap (`tracing.http`); without
 *              one there, requests are sampled but no span is sent anywhere.
 *
 * Several services may target one workload port, each with its own policy, but a connection
 * manager has one access log and one sampling rate: the log of the first service (model order)
 * that enables one, and the highest sampling percent, apply; a policy that asked otherwise is told.
 * Proxyless gRPC implements neither (no gRFC configures them over xDS): nothing is emitted for it,
 * and each policy that asks gets a note.
 */
import { type Diagnostic, type ObjectRef, sortedRefs } from '../../diagnostics.js';
import { typed } from '../../envoy/codec.js';
import type { AccessLog } from '../../envoy/generated/envoy/config/accesslog/v3/AccessLog.js';
import type { SubstitutionFormatString } from '../../envoy/generated/envoy/config/core/v3/SubstitutionFormatString.js';
import type { HttpConnectionManager } from '../../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import { sectionSources } from '../../policy/merge.js';
import type { PolicySettings } from '../../policy/schema.js';
import { FILTER_NAME, MESSAGE } from '../common.js';
import { policyNote, portRef } from './notes.js';
import type { PortContext } from './types.js';

type Observability = NonNullable<PolicySettings['observability']>;
type LogFormat = NonNullable<NonNullable<Observability['accessLog']>['format']>;

/** What each access log line holds, by JSON key; the text format holds the same, in this order. */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_host: '%UPSTREAM_HOST%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  user_agent: '%REQ(USER-AGENT)%',
};

/** Envoy's default access log line, trimmed to ACCESS_LOG_FIELDS. */
export const TEXT_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%UPSTREAM_HOST%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%REQ(USER-AGENT)%"\n';

/** The connection manager fields observability sets. */
export type ObservabilityFields = Pick<HttpConnectionManager, 'access_log' | 'tracing'>;

function logFormat(format: LogFormat): SubstitutionFormatString {
  if (format === 'text') return { text_format_source: { inline_string: TEXT_LOG_FORMAT } };
  // google.protobuf.Struct in its message form (protobufjs has no JSON mapping for it), with the
  // field names of protobufjs's built-in google/protobuf/struct.proto: camelCase.
  const fields = Object.fromEntries(Object.entries(ACCESS_LOG_FIELDS).map(([key, command]) => [key, { stringValue: command }]));
  return { json_format: { fields } };
}

/** The stdout access log, as text or JSON. */
export function stdoutAccessLog(format: LogFormat): AccessLog {
  return { name: FILTER_NAME.stdoutAccessLog, typed_config: typed(MESSAGE.stdoutAccessLog, { log_format: logFormat(format) }) };
}

function formatOf(ctx: PortContext): LogFormat | undefined {
  const log = ctx.port.policy?.settings.observability?.accessLog;
  return log?.enabled ? (log.format ?? 'text') : undefined;
}

function samplingOf(ctx: PortContext): number | undefined {
  return ctx.port.policy?.settings.observability?.tracing?.samplingPercent;
}

/** Notes for the policies whose access log setting is not the one applied. */
function accessLogNotes(services: readonly PortContext[], winner: PortContext | undefined, where: string): Diagnostic[] {
  if (!winner) return [];
  const applied = formatOf(winner);
  return services
    .filter((s) => s.port.policy?.settings.observability?.accessLog !== undefined && formatOf(s) !== applied)
    .map((s) => policyNote(s, 'observability.accessLog', `${where} also serves ${portRef(winner)}, whose access log (${applied ?? 'none'}) applies there`));
}

function tracingNotes(services: readonly PortContext[], applied: number | undefined, where: string): Diagnostic[] {
  if (applied === undefined) return [];
  return services
    .filter((s) => samplingOf(s) !== undefined && samplingOf(s) !== applied)
    .map((s) => policyNote(s, 'observability.tracing', `${where} serves several services; the highest sampling percent of theirs (${applied}%) applies there`));
}

export interface InboundObservability {
  readonly fields: ObservabilityFields;
  /** The policies that shaped it: what the listener's `sources` add. */
  readonly sources: readonly ObjectRef[];
  readonly errors: readonly Diagnostic[];
}

/**
 * Access log and tracing of one inbound connection manager, from the policies of the service
 * ports that target its workload port. `where` names that port in notes (`port 8080 of Pod ns/x`).
 */
export function inboundObservability(services: readonly PortContext[], where: string): InboundObservability {
  const logged = services.find((s) => formatOf(s) !== undefined);
  const format = logged ? formatOf(logged) : undefined;
  const rates = services.map(samplingOf).filter((r): r is number => r !== undefined);
  const sampling = rates.length > 0 ? Math.max(...rates) : undefined;
  return {
    fields: {
      ...(format ? { access_log: [stdoutAccessLog(format)] } : {}),
      ...(sampling !== undefined ? { tracing: { random_sampling: { value: sampling } } } : {}),
    },
    sources: sortedRefs(services.flatMap((s) => sectionSources(s.port.policy, 'observability'))),
    errors: [...accessLogNotes(services, logged, where), ...tracingNotes(services, sampling, where)],
  };
}

/** A policy asking for observability on a port whose traffic no connection manager sees (TCP). */
export function tcpObservabilityNotes(ctx: PortContext, where: string): Diagnostic[] {
  const o = ctx.port.policy?.settings.observability;
  const fields = [o?.accessLog ? 'accessLog' : undefined, o?.tracing ? 'tracing' : undefined].filter((f): f is string => f !== undefined);
  return fields.map((f) =>
    policyNote(ctx, `observability.${f}`, `${where} is a TCP port: access logs and tracing apply to HTTP ports only; nothing is configured there`),
  );
}

/** What a proxyless translation says about a port's observability: gRPC implements none of it. */
export function proxylessObservabilityNotes(ctx: PortContext): Diagnostic[] {
  const o = ctx.port.policy?.settings.observability;
  const notes: Diagnostic[] = [];
  if (o?.accessLog?.enabled) {
    notes.push(
      policyNote(
        ctx,
        'observability.accessLog',
        `proxyless gRPC does not implement access logs: proxyless servers behind ${portRef(ctx)} log nothing (Envoy sidecars do)`,
      ),
    );
  }
  if (o?.tracing) {
    notes.push(
      policyNote(
        ctx,
        'observability.tracing',
        `proxyless gRPC does not implement tracing configuration: proxyless servers behind ${portRef(ctx)} are not sampled (Envoy sidecars are)`,
      ),
    );
  }
  return notes;
}
