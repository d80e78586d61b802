/**
 * Envoy's own validation rules, checked before a resource is ever served.
 *
 * Envoy NACKs a resource that breaks a protoc-gen-validate rule of its protos (`(validate.rules)`
 * on fields, `(validate.required)` on oneofs). protobufjs keeps those options on its reflection
 * objects; this module compiles them, once per message type and lazily, into a list of checks
 * and walks a plain object (the form encodeMessage takes) against them.
 *
 * Presence follows PGV: an absent proto3 scalar is its default and is checked as such; a field in
 * a oneof is checked only when it is set; an absent message (wrappers, Durations, Anys included)
 * fails only `required`.
 */
import protobuf from 'protobufjs';
import type { Diagnostic } from '../diagnostics.js';
import { envoyRoot, messageType } from './protos.js';
import { messageNameOf, TYPE_URL_PREFIX } from './types.js';
import { compileKind, toBigInt, type Check, type RuleContext, type Rules } from './validate-kinds.js';

interface FieldPlan {
  readonly key: string;
  /** In a oneof (or proto3 `optional`): its rules apply only when it is set. */
  readonly onlyWhenSet: boolean;
  /** What the field being absent breaks, worked out once when compiling (checks are pure). */
  readonly whenAbsent: readonly string[];
  readonly check: Check;
}

interface OneofPlan {
  readonly name: string;
  readonly members: readonly string[];
}

interface TypePlan {
  readonly fields: readonly FieldPlan[];
  readonly requiredOneofs: readonly OneofPlan[];
}

const ANY = '.google.protobuf.Any';

/** The scalar kind whose rules apply to `.value` of each wrapper type. */
const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/** Message kinds whose own rules carry `required`, and the message type they belong to. */
const MESSAGE_KINDS: Readonly<Record<string, string>> = {
  duration: '.google.protobuf.Duration',
  timestamp: '.google.protobuf.Timestamp',
  any: ANY,
};

/** proto3 defaults by scalar type (and wrapped kind); every other scalar defaults to 0. */
const DEFAULTS: Readonly<Record<string, unknown>> = { string: '', bytes: new Uint8Array(0), bool: false };

const plans = new Map<string, TypePlan>();
const unsupported = new Set<string>();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const have = into[k];
    into[k] = isRecord(have) && isRecord(v) ? deepMerge({ ...have }, v) : v;
  }
  return into;
}

/**
 * A field's `(validate.rules)`, nested (`{ string: { min_len: 1 } }`). protobufjs keeps them
 * nested in `parsedOptions`; its flattened `options` drops empty aggregates such as `gt: {}`,
 * so they are rebuilt from there only when nothing was parsed.
 */
function fieldRules(field: protobuf.FieldBase): Rules | undefined {
  const parsed: unknown = field.parsedOptions;
  let rules: Record<string, unknown> | undefined;
  for (const opt of Array.isArray(parsed) ? parsed : []) {
    const r: unknown = isRecord(opt) ? opt['(validate.rules)'] : undefined;
    if (isRecord(r)) rules = deepMerge(rules ?? {}, r);
  }
  if (rules || !field.options) return rules;
  const prefix = '(validate.rules).';
  for (const [key, v] of Object.entries(field.options)) {
    if (!key.startsWith(prefix)) continue;
    const parts = key.slice(prefix.length).split('.');
    const nested = parts.reduceRight<unknown>((acc, part) => ({ [part]: acc }), v);
    if (isRecord(nested)) rules = deepMerge(rules ?? {}, nested);
  }
  return rules;
}

function context(field: protobuf.FieldBase): RuleContext {
  const where = `${field.parent?.fullName.slice(1) ?? '?'}.${field.name}`;
  const enumType = field.resolvedType instanceof protobuf.Enum ? field.resolvedType : undefined;
  return { where, ...(enumType ? { enumType } : {}), unsupported: (rule) => unsupported.add(`${rule} (${where})`) };
}

function runAll(checks: readonly Check[]): Check | undefined {
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (v, path, out) => {
    for (const c of checks) c(v, path, out);
  };
}

/** The kinds in a FieldRules other than `message` (PGV allows one; all are honoured). */
function kindsOf(rules: Rules | undefined): [string, unknown][] {
  return Object.entries(rules ?? {}).filter(([k]) => k !== 'message');
}

/** The check for one value of a message-typed field (a list item, a map value or the field itself). */
function messageElement(type: protobuf.Type, rules: Rules | undefined, ctx: RuleContext): Check {
  const messageRules = isRecord(rules?.['message']) ? rules['message'] : {};
  for (const k of Object.keys(messageRules)) if (k !== 'required' && k !== 'skip') ctx.unsupported(`message.${k}`);
  let required = messageRules['required'] === true;
  const own: Check[] = [];
  for (const [kind, kindRules] of kindsOf(rules)) {
    const wrapped = WRAPPERS[type.fullName];
    // `required` of duration/timestamp/any means presence; Envoy also puts `any.required` on a
    // plain message (ExtensionConfigSource.config_source), where it can only mean the same.
    const messageKind = Object.hasOwn(MESSAGE_KINDS, kind);
    if (messageKind && isRecord(kindRules) && kindRules['required'] === true) required = true;
    if (MESSAGE_KINDS[kind] === type.fullName) {
      const c = compileKind(kind, kindRules, ctx);
      if (c) own.push(c);
    } else if (wrapped === kind) {
      const c = compileKind(kind, kindRules, ctx);
      const absent = DEFAULTS[kind] ?? 0;
      if (c) own.push((v, path, out) => c(isRecord(v) ? (v['value'] ?? absent) : v, path, out));
    } else if (!(messageKind && isRecord(kindRules) && Object.keys(kindRules).every((k) => k === 'required'))) {
      ctx.unsupported(`${kind} on ${type.fullName.slice(1)}`);
    }
  }
  const ownCheck = runAll(own);
  const recurse = messageRules['skip'] !== true;
  return (v, path, out) => {
    if (v === undefined || v === null) {
      if (required) out.push({ severity: 'error', field: path, message: 'is required' });
      return;
    }
    ownCheck?.(v, path, out);
    if (recurse && isRecord(v)) walk(type, v, path, out);
  };
}

/** The check for one value of a field (a list item, a map value or the field itself), or undefined. */
function elementCheck(field: protobuf.FieldBase, rules: Rules | undefined, ctx: RuleContext): Check | undefined {
  if (field.resolvedType instanceof protobuf.Type) return messageElement(field.resolvedType, rules, ctx);
  if (rules?.['message'] !== undefined) ctx.unsupported('message on a scalar');
  return runAll(
    kindsOf(rules)
      .map(([kind, kindRules]) => compileKind(kind, kindRules, ctx))
      .filter((c): c is Check => c !== undefined),
  );
}

const count = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

function uniqueKey(v: unknown): string {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'object' && v !== null) return `json:${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`;
  return `${typeof v}:${String(v)}`;
}

function repeatedCheck(field: protobuf.FieldBase, rules: Rules | undefined, ctx: RuleContext): Check | undefined {
  const r = isRecord(rules?.['repeated']) ? rules['repeated'] : {};
  for (const k of kindsOf(rules)) if (k[0] !== 'repeated') ctx.unsupported(`${k[0]} on a repeated field`);
  for (const k of Object.keys(r)) if (!['min_items', 'max_items', 'unique', 'items', 'ignore_empty'].includes(k)) ctx.unsupported(`repeated.${k}`);
  const item = elementCheck(field, isRecord(r['items']) ? r['items'] : undefined, ctx);
  const min = toBigInt(r['min_items']);
  const max = toBigInt(r['max_items']);
  const unique = r['unique'] === true;
  if (!item && min === undefined && max === undefined && !unique) return undefined;
  const ignoreEmpty = r['ignore_empty'] === true;
  const each = item && field.resolvedType instanceof protobuf.Type ? rememberClean(item) : item;
  return (v, path, out) => {
    const list: unknown[] | undefined = Array.isArray(v) ? v : v === undefined || v === null ? [] : undefined;
    if (!list || (ignoreEmpty && list.length === 0)) return;
    if (min !== undefined && list.length < min)
      out.push({ severity: 'error', field: path, message: `must have at least ${count(Number(min), 'item')}${list.length ? `, got ${list.length}` : ''}` });
    if (max !== undefined && list.length > max)
      out.push({ severity: 'error', field: path, message: `must have at most ${count(Number(max), 'item')}, got ${list.length}` });
    const seen = unique ? new Map<string, number>() : undefined;
    list.forEach((x, i) => {
      const here = join(path, i);
      if (seen) {
        const key = uniqueKey(x);
        const first = seen.get(key);
        if (first !== undefined) out.push({ severity: 'error', field: here, message: `must be unique (same as [${first}])` });
        else seen.set(key, i);
      }
      each?.(x, here, out);
    });
  };
}

/**
 * `check` on the elements of a repeated message field, skipping an element object it found nothing
 * wrong with before: the lists handed again (a route configuration's virtual hosts, each made once
 * per service) are not walked again. Objects given to encoding are never changed after.
 */
function rememberClean(check: Check): Check {
  const clean = new WeakSet<object>();
  return (x, here, out) => {
    if (typeof x !== 'object' || x === null) return check(x, here, out);
    if (clean.has(x)) return;
    const before = out.length;
    check(x, here, out);
    if (out.length === before) clean.add(x);
  };
}

/** A map key (always a string in the object form) as a value of the map's key type. */
function mapKey(keyType: string, key: string): unknown {
  if (keyType === 'bool') return key === 'true';
  if (keyType === 'string') return key;
  return /64/.test(keyType) ? (toBigInt(key) ?? key) : Number(key);
}

function mapCheck(field: protobuf.MapField, rules: Rules | undefined, ctx: RuleContext): Check | undefined {
  const r = isRecord(rules?.['map']) ? rules['map'] : {};
  for (const k of kindsOf(rules)) if (k[0] !== 'map') ctx.unsupported(`${k[0]} on a map field`);
  for (const k of Object.keys(r)) if (!['min_pairs', 'max_pairs', 'keys', 'values', 'no_sparse', 'ignore_empty'].includes(k)) ctx.unsupported(`map.${k}`);
  const keyRules = isRecord(r['keys']) ? r['keys'] : undefined;
  const keyCheck = runAll(
    kindsOf(keyRules)
      .map(([kind, kr]) => compileKind(kind, kr, ctx))
      .filter((c): c is Check => c !== undefined),
  );
  const value = elementCheck(field, isRecord(r['values']) ? r['values'] : undefined, ctx);
  const min = toBigInt(r['min_pairs']);
  const max = toBigInt(r['max_pairs']);
  const noSparse = r['no_sparse'] === true;
  if (!keyCheck && !value && min === undefined && max === undefined && !noSparse) return undefined;
  const ignoreEmpty = r['ignore_empty'] === true;
  return (v, path, out) => {
    const map = isRecord(v) ? v : v === undefined || v === null ? {} : undefined;
    if (!map) return;
    const entries = Object.entries(map);
    if (ignoreEmpty && entries.length === 0) return;
    if (min !== undefined && entries.length < min)
      out.push({
        severity: 'error',
        field: path,
        message: `must have at least ${count(Number(min), 'pair')}${entries.length ? `, got ${entries.length}` : ''}`,
      });
    if (max !== undefined && entries.length > max)
      out.push({ severity: 'error', field: path, message: `must have at most ${count(Number(max), 'pair')}, got ${entries.length}` });
    for (const [k, x] of entries) {
      const here = join(path, k);
      if (keyCheck) {
        const keyIssues: Diagnostic[] = [];
        keyCheck(mapKey(field.keyType, k), here, keyIssues);
        for (const issue of keyIssues) out.push({ severity: 'error', field: issue.field, message: `key ${issue.message}` });
      }
      if (noSparse && (x === undefined || x === null)) out.push({ severity: 'error', field: here, message: 'must not be an empty map value' });
      value?.(x, here, out);
    }
  };
}

/** What an absent field stands for: its proto3 default; undefined for messages, lists and maps (whose checks handle absence). */
function defaultOf(field: protobuf.FieldBase): unknown {
  if (field.resolvedType instanceof protobuf.Type || field.repeated || field instanceof protobuf.MapField) return undefined;
  return DEFAULTS[field.type] ?? 0;
}

function planField(field: protobuf.FieldBase): FieldPlan | undefined {
  const rules = fieldRules(field);
  const ctx = context(field);
  let check: Check | undefined;
  if (field instanceof protobuf.MapField) check = mapCheck(field, rules, ctx);
  else if (field.repeated) check = repeatedCheck(field, rules, ctx);
  else check = elementCheck(field, rules, ctx);
  if (!check) return undefined;
  const whenAbsent: Diagnostic[] = [];
  check(defaultOf(field), '', whenAbsent);
  return { key: field.name, onlyWhenSet: Boolean(field.partOf), whenAbsent: whenAbsent.map((i) => i.message), check };
}

function compile(type: protobuf.Type): TypePlan {
  if (type.options?.['(validate.disabled)'] === true || type.options?.['(validate.ignored)'] === true) return { fields: [], requiredOneofs: [] };
  const fields = type.fieldsArray.map(planField).filter((p): p is FieldPlan => p !== undefined);
  const requiredOneofs = type.oneofsArray.filter((o) => o.options?.['(validate.required)'] === true).map((o) => ({ name: o.name, members: [...o.oneof] }));
  return { fields, requiredOneofs };
}

function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type.fullName);
  if (!plan) {
    // Compiling never looks into nested types (walking does), so recursive types cannot loop here.
    plan = compile(type);
    plans.set(type.fullName, plan);
  }
  return plan;
}

/** The message packed in an Any written as `{ '@type': url, ...fields }`; bytes already encoded are not opened. */
function walkAny(value: Record<string, unknown>, path: string, out: Diagnostic[]): void {
  const url = value['@type'];
  if (typeof url !== 'string' || !url.startsWith(TYPE_URL_PREFIX)) return;
  let inner: protobuf.Type;
  try {
    inner = messageType(messageNameOf(url));
  } catch {
    return; // checkFields reports types that are not loaded
  }
  walk(inner, value, path, out);
}

function walk(type: protobuf.Type, value: Record<string, unknown>, path: string, out: Diagnostic[]): void {
  if (type.fullName === ANY) {
    walkAny(value, path, out);
    return;
  }
  const plan = planOf(type);
  for (const f of plan.fields) {
    const v = value[f.key];
    if (v === undefined || v === null) {
      if (!f.onlyWhenSet) for (const message of f.whenAbsent) out.push({ severity: 'error', field: join(path, f.key), message });
    } else {
      f.check(v, join(path, f.key), out);
    }
  }
  for (const o of plan.requiredOneofs) {
    if (!o.members.some((m) => value[m] !== undefined && value[m] !== null)) {
      out.push({ severity: 'error', field: join(path, o.name), message: `one of [${o.members.join(', ')}] is required` });
    }
  }
}

/**
 * Every protoc-gen-validate rule of the named message type (and of the messages and Anys within
 * it) that the object breaks, with the path of the offending field. Assumes the object's fields
 * exist (checkFields); values of the wrong shape are left to it.
 */
export function validateMessage(typeName: string, value: unknown): Diagnostic[] {
  const type = messageType(typeName);
  if (!isRecord(value)) return [{ severity: 'error', field: '', message: `expected a ${typeName} object` }];
  const out: Diagnostic[] = [];
  walk(type, value, '', out);
  return out;
}

/** Rules met while compiling that this validator does not check (`timestamp.lt_now (pkg.Msg.field)`), sorted. */
export function unsupportedRules(): string[] {
  return [...unsupported].sort();
}

/** Compiles the checks of every message type in the Envoy root, returning the rules left unchecked. */
export function compileAllRules(): string[] {
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) planOf(nested);
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(envoyRoot());
  return unsupportedRules();
}
