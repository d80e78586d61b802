/**
 * Encoding and decoding Envoy messages, guarded.
 *
 * protobufjs's `fromObject` ignores keys it does not know and turns an enum name it does not know
 * into nothing, so a misspelt field would silently vanish from the config a proxy receives. Every
 * object is checked against its message type first; any mismatch is an error that names the path.
 */
import protobuf from 'protobufjs';
import type { Diagnostic } from '../diagnostics.js';
import { messageType } from './protos.js';
import { messageNameOf, TYPE_URL_PREFIX } from './types.js';
import { validateMessage } from './validate.js';

export class EncodeError extends Error {
  /** `issues`: errors whose `field` is the dotted path to the offending key (`filter_chains[0].filters[0].typed_config.stat_prefix`). */
  constructor(
    readonly typeName: string,
    readonly issues: readonly Diagnostic[],
  ) {
    super(`invalid ${typeName}: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'EncodeError';
  }
}

const ANY = 'google.protobuf.Any';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function checkValue(field: protobuf.Field, value: unknown, path: string, out: Diagnostic[]): void {
  if (value === null || value === undefined) return;
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && !(value in resolved.values)) {
      out.push({ severity: 'error', field: path, message: `unknown ${resolved.name} value "${value}"` });
    }
    return;
  }
  if (resolved instanceof protobuf.Type) {
    if (!isPlainObject(value)) {
      out.push({ severity: 'error', field: path, message: `expected a ${resolved.fullName.slice(1)} object` });
      return;
    }
    checkMessage(resolved, value, path, out);
  }
}

function checkAny(value: Record<string, unknown>, path: string, out: Diagnostic[]): void {
  const url = value['@type'];
  if (url === undefined) {
    for (const key of Object.keys(value)) {
      if (key !== 'type_url' && key !== 'value') out.push({ severity: 'error', field: join(path, key), message: 'unknown field in Any' });
    }
    return;
  }
  if (typeof url !== 'string' || !url.startsWith(TYPE_URL_PREFIX)) {
    out.push({ severity: 'error', field: join(path, '@type'), message: `expected "${TYPE_URL_PREFIX}<message>"` });
    return;
  }
  let inner: protobuf.Type;
  try {
    inner = messageType(messageNameOf(url));
  } catch {
    out.push({ severity: 'error', field: join(path, '@type'), message: `type ${messageNameOf(url)} is not loaded (add its file in src/envoy/protos.ts)` });
    return;
  }
  const { '@type': _ignored, ...rest } = value;
  checkMessage(inner, rest, path, out);
}

/**
 * Element objects of repeated message fields found without fault, by element type: a list handed
 * again (a route configuration's virtual hosts, each made once per service) is not walked again.
 * Objects given to encoding are never changed after.
 */
const cleanItems = new WeakMap<protobuf.Type, WeakSet<object>>();

function checkItems(field: protobuf.Field, items: readonly unknown[], path: string, out: Diagnostic[]): void {
  const type = field.resolvedType;
  if (!(type instanceof protobuf.Type)) {
    items.forEach((item, i) => checkValue(field, item, join(path, i), out));
    return;
  }
  let clean = cleanItems.get(type);
  if (clean === undefined) {
    clean = new WeakSet();
    cleanItems.set(type, clean);
  }
  items.forEach((item, i) => {
    if (isPlainObject(item) && clean.has(item)) return;
    const before = out.length;
    checkValue(field, item, join(path, i), out);
    if (out.length === before && isPlainObject(item)) clean.add(item);
  });
}

function checkMessage(type: protobuf.Type, value: Record<string, unknown>, path: string, out: Diagnostic[]): void {
  if (type.fullName === `.${ANY}`) {
    checkAny(value, path, out);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    const here = join(path, key);
    if (!field) {
      out.push({ severity: 'error', field: here, message: `unknown field of ${type.fullName.slice(1)}` });
      continue;
    }
    if (field.map) {
      if (!isPlainObject(v)) out.push({ severity: 'error', field: here, message: 'expected a map object' });
      else for (const [k, mv] of Object.entries(v)) checkValue(field, mv, join(here, k), out);
    } else if (field.repeated) {
      if (!Array.isArray(v)) out.push({ severity: 'error', field: here, message: 'expected a list' });
      else checkItems(field, v, here, out);
    } else {
      checkValue(field, v, here, out);
    }
  }
}

/** Every field the object sets that its message type does not have, and every unknown enum name. */
export function checkFields(typeName: string, value: unknown): Diagnostic[] {
  const type = messageType(typeName);
  const out: Diagnostic[] = [];
  if (!isPlainObject(value)) return [{ severity: 'error', field: '', message: `expected a ${typeName} object` }];
  checkMessage(type, value, '', out);
  return out;
}

/**
 * Encodes a plain object as the named message; throws EncodeError if any field is unknown or
 * mistyped, or breaks one of Envoy's validation rules (which Envoy would NACK).
 */
export function encodeMessage(typeName: string, value: object): Uint8Array {
  let issues = checkFields(typeName, value);
  if (issues.length === 0) issues = validateMessage(typeName, value);
  if (issues.length > 0) throw new EncodeError(typeName, issues);
  const type = messageType(typeName);
  try {
    return encodeChecked(type, value as Record<string, unknown>);
  } catch (err) {
    throw new EncodeError(typeName, [{ severity: 'error', field: '', message: (err as Error).message }]);
  }
}

/** Wraps encoded bytes as an encoded google.protobuf.Any. */
/** Lists at least this long are encoded element by element (below). */
const PIECEWISE_ITEMS = 16;

/** The repeated message fields of each type (Any excepted: its JSON form is not its wire form). */
const repeatedMessages = new Map<protobuf.Type, readonly protobuf.Field[]>();

function repeatedMessageFields(type: protobuf.Type): readonly protobuf.Field[] {
  let fields = repeatedMessages.get(type);
  if (fields === undefined) {
    fields = type.fieldsArray.filter((f) => f.repeated && !f.map && f.resolvedType instanceof protobuf.Type && f.resolvedType.fullName !== `.${ANY}`);
    repeatedMessages.set(type, fields);
  }
  return fields;
}

/** Each element object's bytes, by element type. */
const itemBytes = new WeakMap<protobuf.Type, WeakMap<object, Uint8Array>>();

function bytesOf(type: protobuf.Type, item: object): Uint8Array {
  let known = itemBytes.get(type);
  if (known === undefined) {
    known = new WeakMap();
    itemBytes.set(type, known);
  }
  let bytes = known.get(item);
  if (bytes === undefined) {
    bytes = type.encode(type.fromObject(item)).finish();
    known.set(item, bytes);
  }
  return bytes;
}

/**
 * A checked message's bytes. A long list of messages (a route configuration's virtual hosts) is
 * written element by element after the rest, each element's bytes kept by object: the same
 * elements in another message (the routes of another namespace, of the next model) cost a copy.
 * Protobuf parsers take a message's fields in any order and a repeated field's elements wherever
 * they appear, in order; the bytes are the same for the same content.
 */
function encodeChecked(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  const long = repeatedMessageFields(type).find((f) => {
    const items = value[f.name];
    return Array.isArray(items) && items.length >= PIECEWISE_ITEMS;
  });
  if (long === undefined) return type.encode(type.fromObject(value)).finish();
  const { [long.name]: items, ...rest } = value;
  const itemType = long.resolvedType as protobuf.Type;
  const writer = type.encode(type.fromObject(rest));
  const tag = (long.id << 3) | 2;
  for (const item of items as object[]) writer.uint32(tag).bytes(bytesOf(itemType, item));
  return writer.finish();
}

export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const any = messageType(ANY);
  return any.encode(any.create({ type_url: typeUrl, value })).finish();
}

/** A nested `Any` in the JSON form that encodeMessage understands: `{ '@type': url, ...fields }`. */
export function typed<T extends object>(messageName: string, value: T): T & { '@type': string } {
  return { '@type': `${TYPE_URL_PREFIX}${messageName}`, ...value };
}

const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, json: true };

/** Decodes bytes of the named message into plain JSON-able data (snake_case, Anys as `@type` objects). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), TO_JSON);
}

/** Decodes an encoded Any into its `@type` JSON form. */
export function decodeAny(bytes: Uint8Array): Record<string, unknown> {
  const any = messageType(ANY);
  const msg = any.toObject(any.decode(bytes)) as { type_url: string; value: Uint8Array };
  return { '@type': msg.type_url, ...decodeMessage(messageNameOf(msg.type_url), msg.value) };
}
