/**
 * Client status (CSDS, envoy.service.status.v3): which proxies a ClientStatusRequest asks about (its
 * node matchers), and the ClientConfig of each connected stream — its node and, per resource, the
 * version it holds, ACKED / NACKED / REQUESTED / DOES_NOT_EXIST, when it last ACKed, the NACK's
 * message, and the resource itself with every sensitive field redacted (as /debug/config_dump).
 * Objects here are in protobufjs's object form (snake_case), ready for `fromObject`.
 */
import { RE2JS } from 're2js';
import { decodeAny } from '../envoy/codec.js';
import type { NodeInfo } from '../envoy/node.js';
import { messageType } from '../envoy/protos.js';
import type { ClientResource, ClientResources, ClientTypeResources, SyncState } from '../xds/status.js';
import { redactSensitive } from './redact.js';

/** A request CSDS cannot answer as asked: INVALID_ARGUMENT, naming the field. */
export class CsdsRequestError extends Error {
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'CsdsRequestError';
  }
}

/** envoy.type.matcher.v3.StringMatcher, as protobufjs decodes it (with `oneofs: true`). */
interface StringMatcherObject {
  readonly match_pattern?: string;
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly safe_regex?: { readonly regex?: string };
  readonly ignore_case?: boolean;
}

interface NodeMatcherObject {
  readonly node_id?: StringMatcherObject;
  readonly node_metadatas?: readonly unknown[];
}

/** envoy.service.status.v3.ClientStatusRequest, as protobufjs decodes it. */
export interface ClientStatusRequestObject {
  readonly node_matchers?: readonly NodeMatcherObject[];
  readonly exclude_resource_contents?: boolean;
}

export interface CsdsQuery {
  readonly select: (node: NodeInfo) => boolean;
  readonly excludeContents: boolean;
}

/** A StringMatcher as a predicate: exact, prefix, suffix, contains (each with ignore_case), safe_regex (RE2, whole value). */
function stringMatcher(m: StringMatcherObject, field: string): (value: string) => boolean {
  const fold = m.ignore_case === true ? (s: string) => s.toLowerCase() : (s: string) => s;
  const text = (key: 'exact' | 'prefix' | 'suffix' | 'contains'): string => fold(m[key] ?? '');
  switch (m.match_pattern) {
    case 'exact':
      return (v) => fold(v) === text('exact');
    case 'prefix':
      return (v) => fold(v).startsWith(text('prefix'));
    case 'suffix':
      return (v) => fold(v).endsWith(text('suffix'));
    case 'contains':
      return (v) => fold(v).includes(text('contains'));
    case 'safe_regex': {
      const regex = m.safe_regex?.regex ?? '';
      if (regex === '') throw new CsdsRequestError(`${field}.safe_regex.regex`, 'must not be empty');
      try {
        const re = RE2JS.compile(regex);
        return (v) => re.matches(v);
      } catch (err) {
        throw new CsdsRequestError(`${field}.safe_regex.regex`, `not a valid RE2 expression: ${(err as Error).message}`);
      }
    }
    case undefined:
      throw new CsdsRequestError(field, 'sets no match pattern (exact, prefix, suffix, contains or safe_regex)');
    default:
      throw new CsdsRequestError(`${field}.${m.match_pattern}`, 'is not supported by Trellis (exact, prefix, suffix, contains and safe_regex are)');
  }
}

/** The proxies a request asks about: those any node matcher accepts (OR), or all when it has none. */
export function csdsQuery(req: ClientStatusRequestObject): CsdsQuery {
  const matchers = (req.node_matchers ?? []).map((m, i) => {
    const field = `node_matchers[${i}]`;
    if ((m.node_metadatas ?? []).length > 0) throw new CsdsRequestError(`${field}.node_metadatas`, 'is not supported by Trellis (node_id is)');
    return m.node_id ? stringMatcher(m.node_id, `${field}.node_id`) : () => true;
  });
  const select = matchers.length === 0 ? () => true : (node: NodeInfo) => matchers.some((match) => match(node.id));
  return { select, excludeContents: req.exclude_resource_contents === true };
}

/** A sync state as CSDS's ClientConfigStatus names it. */
export const CONFIG_STATUS: Readonly<Record<SyncState, string>> = { SYNCED: 'SYNCED', 'NOT SENT': 'NOT_SENT', STALE: 'STALE', ERROR: 'ERROR' };

/** Redacted copies of resources, by the cache's (immutable, shared) encoded bytes: each is redacted once. */
const redactedCopies = new WeakMap<Uint8Array, Uint8Array>();

/** An encoded Any with every sensitive field redacted (the same bytes when it has none). */
export function redactedAny(any: Uint8Array): Uint8Array {
  let out = redactedCopies.get(any);
  if (out === undefined) {
    const json = decodeAny(any);
    const redacted = redactSensitive(json);
    if (JSON.stringify(redacted) === JSON.stringify(json)) out = any;
    else {
      const type = messageType('google.protobuf.Any');
      out = type.encode(type.fromObject(redacted as Record<string, unknown>)).finish();
    }
    redactedCopies.set(any, out);
  }
  return out;
}

/** An encoded Any as protobufjs's object form of a google.protobuf.Any field. */
function anyField(any: Uint8Array): { type_url: string; value: Uint8Array } {
  const type = messageType('google.protobuf.Any');
  const decoded = type.toObject(type.decode(redactedAny(any))) as { type_url: string; value: Uint8Array };
  return { type_url: decoded.type_url, value: decoded.value };
}

function timestamp(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** Plain JSON as a google.protobuf.Value (protobufjs's bundled struct.proto: camelCase fields). */
function value(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
  return { structValue: struct(v as Record<string, unknown>) };
}

function struct(obj: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, value(v)])) };
}

/** envoy.config.core.v3.Node from what the stream's first request said. */
function nodeObject(node: NodeInfo): Record<string, unknown> {
  const [name, version] = [node.userAgentName ?? '', node.userAgentVersion ?? ''];
  return {
    id: node.id,
    cluster: node.cluster,
    metadata: struct(node.metadata),
    ...(node.locality ? { locality: node.locality } : {}),
    user_agent_name: name,
    ...(version === '' ? {} : { user_agent_version: version }),
  };
}

function genericConfig(t: ClientTypeResources, r: ClientResource, withContents: boolean): Record<string, unknown> {
  const rejection = r.rejection;
  return {
    type_url: t.typeUrl,
    name: r.name,
    version_info: r.version,
    ...(withContents && r.any ? { xds_config: anyField(r.any) } : {}),
    ...(r.lastUpdated === undefined ? {} : { last_updated: timestamp(r.lastUpdated) }),
    config_status: CONFIG_STATUS[t.state],
    client_status: r.status,
    ...(rejection
      ? {
          error_state: {
            ...(withContents && rejection.any ? { failed_configuration: anyField(rejection.any) } : {}),
            last_update_attempt: timestamp(rejection.at),
            details: rejection.message,
            version_info: rejection.version,
          },
        }
      : {}),
  };
}

/** envoy.service.status.v3.ClientStatusResponse: one ClientConfig per connected stream, in node id order. */
export function clientStatusResponse(streams: readonly ClientResources[], excludeContents: boolean): Record<string, unknown> {
  return {
    config: streams.map((s) => ({
      node: nodeObject(s.node),
      generic_xds_configs: s.types.flatMap((t) => t.resources.map((r) => genericConfig(t, r, !excludeContents))),
    })),
  };
}
