/**
 * A sidecar bootstrap as Envoy reads it (YAML, proto3 JSON) turned into the plain object protobufjs
 * checks (src/envoy/codec.ts checkFields, src/envoy/validate.ts validateMessage): node.metadata as a
 * Struct, Durations and wrappers as messages.
 */
type Json = Record<string, unknown>;

/** node.metadata as the google.protobuf.Struct protobufjs knows (camelCase value fields). */
export function structNode(node: Json): Json {
  const metadata = (node.metadata ?? {}) as Record<string, string>;
  return { ...node, metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }])) } };
}

/** Fields of the bootstrap that are wrappers (UInt32Value, BoolValue): plain values in Envoy's YAML. */
const WRAPPERS = new Set(['healthy_threshold', 'unhealthy_threshold', 'pass_through_mode']);

/**
 * Envoy's YAML (proto3 JSON) as protobufjs knows the message: a google.protobuf.Duration ("0s", "1.5s")
 * as seconds and nanos, a wrapper as `{ value }`.
 */
function durations(value: unknown, key = ''): unknown {
  if ((typeof value === 'number' || typeof value === 'boolean') && WRAPPERS.has(key)) return { value };
  if (typeof value === 'string') {
    const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    return m ? { seconds: m[1], nanos: Number((m[2] ?? '').padEnd(9, '0')) } : value;
  }
  if (Array.isArray(value)) return value.map((v) => durations(v));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, durations(v, k)]));
  return value;
}

/** A rendered sidecar bootstrap as the Bootstrap message protobufjs checks (metadata as a Struct, Durations as messages). */
export function bootstrapMessage(object: Json): Json {
  return { ...(durations(object) as Json), node: structNode(node(object)) };
}

export function node(object: Json): Json {
  return object.node as Json;
}
