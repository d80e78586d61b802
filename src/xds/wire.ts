/**
 * The ADS service as grpc-js sees it: request decoding and response encoding.
 *
 * Requests are decoded with the Envoy API types. Responses are encoded with the wire-compatible
 * messages of proto/trellis/wire, whose resources are the bytes the cache encoded once.
 */
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const protobufReader = (buf: Uint8Array): protobuf.Reader => protobuf.Reader.create(buf);
import { messageType } from '../envoy/protos.js';
import type { NodeInfo } from '../envoy/node.js';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

export interface RpcStatusDetail {
  readonly code: number;
  readonly message: string;
}

export interface SotwRequest {
  readonly version_info: string;
  readonly node?: NodeInfo;
  /** A digest of resource_names as sent: equal digests, equal names (the common ACK). */
  readonly namesDigest: string;
  /** The resource names, decoded when asked for. */
  names(): readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: RpcStatusDetail;
}

export interface DeltaRequest {
  readonly node?: NodeInfo;
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  readonly error_detail?: RpcStatusDetail;
}

/** A request that could not be decoded; the stream handler ends the stream with INVALID_ARGUMENT. */
export interface Malformed {
  readonly malformed: string;
}

export interface SotwResponseWire {
  readonly version_info: string;
  readonly resources: readonly Uint8Array[];
  readonly type_url: string;
}

export interface DeltaResponseWire {
  readonly system_version_info: string;
  readonly resources: readonly Uint8Array[];
  readonly type_url: string;
  readonly removed_resources: readonly string[];
}

type Obj = Record<string, unknown>;

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * google.protobuf.Value (protobufjs object form) → plain JSON. protobufjs always uses its bundled
 * struct.proto, whose fields are camelCase even when everything else keeps proto case.
 */
function valueToJson(v: Obj): unknown {
  // Decoded messages keep defaults on their prototype: only own properties were on the wire.
  const has = (snake: string, camel: string): boolean => Object.hasOwn(v, snake) || Object.hasOwn(v, camel);
  const pick = (snake: string, camel: string): unknown => (Object.hasOwn(v, snake) ? v[snake] : v[camel]);
  if (has('string_value', 'stringValue')) return pick('string_value', 'stringValue');
  if (has('number_value', 'numberValue')) return pick('number_value', 'numberValue');
  if (has('bool_value', 'boolValue')) return pick('bool_value', 'boolValue');
  if (has('struct_value', 'structValue')) return structToJson(pick('struct_value', 'structValue') as Obj);
  if (has('list_value', 'listValue')) {
    const list = pick('list_value', 'listValue') as Obj;
    return ((list.values as Obj[] | undefined) ?? []).map(valueToJson);
  }
  return null;
}

export function structToJson(s: Obj | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (s?.fields ?? {}) as Record<string, Obj>;
  for (const key of Object.keys(fields).sort()) out[key] = valueToJson(fields[key] ?? {});
  return out;
}

function nodeOf(raw: unknown): NodeInfo | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const n = raw as Obj;
  const loc = n.locality as Obj | undefined;
  return {
    id: str(n.id),
    cluster: str(n.cluster),
    metadata: structToJson(n.metadata as Obj | undefined),
    ...(loc ? { locality: { region: str(loc.region), zone: str(loc.zone), sub_zone: str(loc.sub_zone) } } : {}),
    userAgent: [str(n.user_agent_name), str(n.user_agent_version)].filter(Boolean).join('/'),
    userAgentName: str(n.user_agent_name),
    userAgentVersion: str(n.user_agent_version),
  };
}

function errorOf(raw: unknown): RpcStatusDetail | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  // error_detail is a message field: present only when it was on the wire.
  const e = raw as Obj;
  return { code: typeof e.code === 'number' ? e.code : 0, message: str(e.message) };
}

/** The message types of the hot path, looked up once (a protobufjs lookup walks namespaces). */
const types = {
  node: lazy(() => messageType('envoy.config.core.v3.Node')),
  status: lazy(() => messageType('google.rpc.Status')),
  sotwResponse: lazy(() => messageType('trellis.wire.DiscoveryResponse')),
  deltaResponse: lazy(() => messageType('trellis.wire.DeltaDiscoveryResponse')),
};

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

function guarded<T>(fn: (buf: Buffer) => T): (buf: Buffer) => T | Malformed {
  return (buf) => {
    try {
      return fn(buf);
    } catch (err) {
      return { malformed: (err as Error).message };
    }
  };
}

/** Where the resource names lie in a request: the run of their fields, tags and lengths included. */
interface NamesSpan {
  readonly start: number;
  readonly end: number;
  /** Another field between two names: the span is not only names. */
  readonly interleaved: boolean;
}

/**
 * Reads a DiscoveryRequest with protobufjs's Reader, field by field. The resource names (field 3)
 * are skipped over, not decoded: an ACK repeats a thousand of them, and the stream only needs to
 * know whether they changed, which a digest of their bytes tells. Node and error detail are decoded
 * with their message types when present.
 */
function readSotwRequest(buf: Buffer): { fields: Obj; names: NamesSpan | undefined } {
  const reader = protobufReader(buf);
  const fields: Obj = {};
  let names: { start: number; end: number; interleaved: boolean } | undefined;
  while (reader.pos < reader.len) {
    const tagStart = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === 2) {
      reader.skipType(2);
      if (names && names.end !== tagStart) names.interleaved = true;
      names = { start: names?.start ?? tagStart, end: reader.pos, interleaved: names?.interleaved ?? false };
      continue;
    }
    switch (field) {
      case 1:
        fields.version_info = reader.string();
        break;
      case 2:
        fields.node = types.node().decode(reader.bytes());
        break;
      case 4:
        fields.type_url = reader.string();
        break;
      case 5:
        fields.response_nonce = reader.string();
        break;
      case 6:
        fields.error_detail = types.status().decode(reader.bytes());
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  return { fields, names };
}

/** The names in a span, decoded. */
function namesIn(buf: Buffer, span: NamesSpan | undefined): string[] {
  if (!span) return [];
  const reader = protobufReader(buf.subarray(0, span.end));
  reader.pos = span.start;
  const out: string[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 3 && (tag & 7) === 2) out.push(reader.string());
    else reader.skipType(tag & 7);
  }
  return out;
}

/**
 * Runs of names up to this many bytes are compared as they are, not hashed (a base64 SHA-1 never
 * holds ':'): an Envoy sidecar's EDS request names each cluster it has (a scoped one a dozen, some
 * 700 bytes), and every ACK repeats them; a SHA-1 per ACK cost more than keeping the text.
 */
const RAW_DIGEST_BYTES = 1024;

export const decodeSotwRequest = guarded((buf: Buffer): SotwRequest => {
  const { fields: r, names: span } = readSotwRequest(buf);
  const node = nodeOf(r.node);
  const error = errorOf(r.error_detail);
  // Interleaved (unusual): fall back to the names themselves, so that other fields never count.
  // A short run (a few names, as an SDS request has) is its own digest: cheaper than hashing it.
  const digest = !span
    ? ''
    : span.interleaved
      ? `names:${namesIn(buf, span).join('\n')}`
      : span.end - span.start <= RAW_DIGEST_BYTES
        ? `raw:${buf.toString('latin1', span.start, span.end)}`
        : createHash('sha1').update(buf.subarray(span.start, span.end)).digest('base64');
  let names: string[] | undefined;
  return {
    version_info: str(r.version_info),
    namesDigest: digest,
    names: () => (names ??= namesIn(buf, span)),
    type_url: str(r.type_url),
    response_nonce: str(r.response_nonce),
    ...(node ? { node } : {}),
    ...(error ? { error_detail: error } : {}),
  };
});

const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_VERSIONS: Readonly<Record<string, string>> = Object.freeze({});

/** One initial_resource_versions map entry (key = 1, value = 2). */
function readMapEntry(reader: protobuf.Reader, into: Record<string, string>): void {
  const end = reader.uint32() + reader.pos;
  let key = '';
  let value = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) key = reader.string();
    else if (tag >>> 3 === 2) value = reader.string();
    else reader.skipType(tag & 7);
  }
  into[key] = value;
}

/**
 * Reads a DeltaDiscoveryRequest field by field. Most requests are ACKs (a type URL and a nonce):
 * they are read without building a message object, and share the empty lists.
 */
export const decodeDeltaRequest = guarded((buf: Buffer): DeltaRequest => {
  const reader = protobufReader(buf);
  let node: unknown;
  let error: unknown;
  let typeUrl = '';
  let nonce = '';
  let subscribe: string[] | undefined;
  let unsubscribe: string[] | undefined;
  let initial: Record<string, string> | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1:
        node = types.node().decode(reader.bytes());
        break;
      case 2:
        typeUrl = reader.string();
        break;
      case 3:
        (subscribe ??= []).push(reader.string());
        break;
      case 4:
        (unsubscribe ??= []).push(reader.string());
        break;
      case 5:
        readMapEntry(reader, (initial ??= {}));
        break;
      case 6:
        nonce = reader.string();
        break;
      case 7:
        error = types.status().decode(reader.bytes());
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  const nodeInfo = nodeOf(node);
  const errorDetail = errorOf(error);
  return {
    type_url: typeUrl,
    resource_names_subscribe: subscribe ?? NO_NAMES,
    resource_names_unsubscribe: unsubscribe ?? NO_NAMES,
    initial_resource_versions: initial ?? NO_VERSIONS,
    response_nonce: nonce,
    ...(nodeInfo ? { node: nodeInfo } : {}),
    ...(errorDetail ? { error_detail: errorDetail } : {}),
  };
});

export function encodeSotwResponse(res: SotwResponseWire): Buffer {
  const type = types.sotwResponse();
  const bytes = type.encode(res).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeDeltaResponse(res: DeltaResponseWire): Buffer {
  const type = types.deltaResponse();
  const bytes = type.encode(res).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** DiscoveryResponse.nonce and DeltaDiscoveryResponse.nonce: field 5, length-delimited. */
const NONCE_TAG = (5 << 3) | 2;

/**
 * A response: a body encoded without its nonce (shared by every stream sent the same content), and
 * one stream's nonce after it; a later occurrence of a string field wins in protobuf. The nonce is
 * ASCII, shorter than 128 bytes.
 *
 * It is written to the grpc-js call as it is, not as a Buffer: grpc-js 1.14 frames a response by
 * allocating the frame and calling the serialized message's `copy(frame, 5)` (with its `byteLength`),
 * so body and nonce are copied once, straight into the frame, as a pre-built Buffer would be. Joining
 * them into a Buffer of their own first cost a second copy of the whole response per stream, the
 * largest part of a cold start's CPU (1000 proxies, each sent ~640 KB). This leans on grpc-js's
 * serializeMessage (server-interceptors.js), like grpc-memory.ts on its decoder, hence the exact pin
 * of @grpc/grpc-js in package.json; test/xds/nonced-response.test.ts sends one through a grpc-js server and fails
 * when grpc-js frames it otherwise.
 */
export class NoncedResponse {
  readonly byteLength: number;

  constructor(
    readonly body: Buffer,
    readonly nonce: string,
  ) {
    this.byteLength = body.length + 2 + nonce.length;
  }

  get length(): number {
    return this.byteLength;
  }

  /** Writes the response into `target` at `targetStart` (as Buffer's copy does); returns the bytes written. */
  copy(target: Uint8Array, targetStart = 0): number {
    const body = this.body;
    target.set(body, targetStart);
    let at = targetStart + body.length;
    target[at++] = NONCE_TAG;
    target[at++] = this.nonce.length;
    for (let i = 0; i < this.nonce.length; i++) target[at++] = this.nonce.charCodeAt(i) & 0xff;
    return this.byteLength;
  }

  /** The response as one Buffer. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.byteLength);
    this.copy(out);
    return out;
  }
}

function isMalformed(v: unknown): v is Malformed {
  return typeof v === 'object' && v !== null && 'malformed' in v;
}
export { isMalformed };

const passThrough = (b: Buffer): Buffer => b;

/** A response as grpc-js frames it: a Buffer, or a NoncedResponse, which grpc-js copies the same way (see there). */
const framed = (r: Buffer | NoncedResponse): Buffer => r as Buffer;

/** The ADS service definition; responses are written as NoncedResponses (or already-encoded Buffers). */
export const adsServiceDefinition: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: `${SERVICE}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: decodeSotwRequest,
    responseSerialize: framed,
    responseDeserialize: passThrough,
  },
  DeltaAggregatedResources: {
    path: `${SERVICE}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: decodeDeltaRequest,
    responseSerialize: framed,
    responseDeserialize: passThrough,
  },
};
