/**
 * protoc-gen-validate rules for one value, by rule kind (`uint32`, `string`, `duration`, ...).
 *
 * Each kind is a table: how to read a value of that kind from the plain-object form encodeMessage
 * takes, and one builder per rule name that turns the rule's argument into a test returning a
 * message or nothing. Rule names a table does not list are reported as unsupported, never guessed.
 */
import type protobuf from 'protobufjs';
import type { Diagnostic } from '../diagnostics.js';
import { STRING_RULES, BYTES_RULES, parseBytes, asList, type Rules, type Test, type Builder } from './validate-strings.js';

export type { Rules } from './validate-strings.js';

/** Checks one present (or defaulted) value at `path`, appending what is wrong to `out`. */
export type Check = (value: unknown, path: string, out: Diagnostic[]) => void;

export interface RuleContext {
  /** The field the rules belong to (`envoy.config.cluster.v3.Cluster.name`), for unsupported-rule reports. */
  readonly where: string;
  readonly enumType?: protobuf.Enum;
  readonly unsupported: (rule: string) => void;
}

interface KindSpec<T> {
  readonly parse: (raw: unknown, ctx: RuleContext) => T | undefined;
  /** The value `ignore_empty` skips (the proto3 default). */
  readonly empty: (value: T) => boolean;
  readonly rules: Readonly<Record<string, Builder<T>>>;
  /** gt/gte/lt/lte as one range test, for ordered kinds. */
  readonly range?: (rules: Rules) => Test<T> | undefined;
}

const RANGE_RULES = new Set(['gt', 'gte', 'lt', 'lte']);

/** Rules that are handled elsewhere (presence, modifiers read by other rules). */
const MODIFIERS = new Set(['ignore_empty', 'required', 'strict']);

function kind<T>(spec: KindSpec<T>): (rules: Rules, ctx: RuleContext, name: string) => Check | undefined {
  return (rules, ctx, name) => {
    const tests: Test<T>[] = [];
    if (spec.range) {
      const range = spec.range(rules);
      if (range) tests.push(range);
    }
    for (const [rule, arg] of Object.entries(rules)) {
      if ((spec.range && RANGE_RULES.has(rule)) || MODIFIERS.has(rule)) continue;
      const build = Object.hasOwn(spec.rules, rule) ? spec.rules[rule] : undefined;
      if (build === undefined) {
        ctx.unsupported(`${name}.${rule}`);
        continue;
      }
      const test = build(arg, rules, ctx);
      if (test) tests.push(test);
    }
    if (tests.length === 0) return undefined;
    const ignoreEmpty = rules['ignore_empty'] === true;
    return (raw, path, out) => {
      const value = spec.parse(raw, ctx);
      if (value === undefined || (ignoreEmpty && spec.empty(value))) return;
      for (const test of tests) {
        const message = test(value);
        if (message !== undefined) out.push({ severity: 'error', field: path, message });
      }
    };
  };
}

// ---- ordered values: numbers, 64-bit integers, durations, timestamps -------------------------

type Ordered = number | bigint;

function bound<T extends Ordered>(rules: Rules, exclusive: string, inclusive: string, parse: (raw: unknown) => T | undefined) {
  if (rules[exclusive] !== undefined) {
    const at = parse(rules[exclusive]);
    return at === undefined ? undefined : { at, inclusive: false, text: (fmt: (v: T) => string) => `${exclusive === 'gt' ? '>' : '<'} ${fmt(at)}` };
  }
  if (rules[inclusive] !== undefined) {
    const at = parse(rules[inclusive]);
    return at === undefined ? undefined : { at, inclusive: true, text: (fmt: (v: T) => string) => `${inclusive === 'gte' ? '>=' : '<='} ${fmt(at)}` };
  }
  return undefined;
}

/** gt/gte/lt/lte as PGV reads them: both bounds with lt > gt is "inside"; with lt <= gt, "outside". */
function rangeTest<T extends Ordered>(rules: Rules, parse: (raw: unknown) => T | undefined, fmt: (v: T) => string): Test<T> | undefined {
  const low = bound(rules, 'gt', 'gte', parse);
  const high = bound(rules, 'lt', 'lte', parse);
  const above = low && ((v: T) => (low.inclusive ? v >= low.at : v > low.at));
  const below = high && ((v: T) => (high.inclusive ? v <= high.at : v < high.at));
  if (low && high && above && below) {
    const lowText = low.text(fmt);
    const highText = high.text(fmt);
    if (high.at > low.at) return (v) => (above(v) && below(v) ? undefined : `value ${fmt(v)} must be ${lowText} and ${highText}`);
    return (v) => (above(v) || below(v) ? undefined : `value ${fmt(v)} must be ${highText} or ${lowText}`);
  }
  if (low && above) {
    const text = low.text(fmt);
    return (v) => (above(v) ? undefined : `value ${fmt(v)} must be ${text}`);
  }
  if (high && below) {
    const text = high.text(fmt);
    return (v) => (below(v) ? undefined : `value ${fmt(v)} must be ${text}`);
  }
  return undefined;
}

function orderedRules<T extends Ordered>(parse: (raw: unknown) => T | undefined, fmt: (v: T) => string): Record<string, Builder<T>> {
  const list = (arg: unknown) =>
    asList(arg)
      .map(parse)
      .filter((v): v is T => v !== undefined);
  return {
    const: (arg) => {
      const c = parse(arg);
      return c === undefined ? undefined : (v) => (v === c ? undefined : `value ${fmt(v)} must equal ${fmt(c)}`);
    },
    in: (arg) => {
      const set = list(arg);
      return (v) => (set.includes(v) ? undefined : `value ${fmt(v)} must be one of [${set.map(fmt).join(', ')}]`);
    },
    not_in: (arg) => {
      const set = list(arg);
      return (v) => (set.includes(v) ? `value ${fmt(v)} must not be one of [${set.map(fmt).join(', ')}]` : undefined);
    },
  };
}

function isLongLike(v: unknown): v is { low: number; high: number; toString(): string } {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v;
}

/** A 64-bit integer as JSON-ish objects carry it: a number, a decimal string, a bigint or a Long. */
export function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : undefined;
  if (typeof v === 'string' && /^[-+]?\d+$/.test(v.trim())) return BigInt(v.trim());
  if (isLongLike(v)) return toBigInt(v.toString());
  return undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) && v !== 'NaN' ? undefined : n;
  }
  if (typeof v === 'bigint' || isLongLike(v)) return Number(v.toString());
  return undefined;
}

const fmtNumber = (v: Ordered): string => v.toString();

function numberKind(parse: (raw: unknown) => Ordered | undefined) {
  return kind<Ordered>({
    parse,
    empty: (v) => v === 0 || v === 0n,
    rules: orderedRules(parse, fmtNumber),
    range: (rules) => rangeTest(rules, parse, fmtNumber),
  });
}

const NANOS = 1_000_000_000n;

/** A Duration or Timestamp object (`{ seconds, nanos }`) as a count of nanoseconds. */
function toNanos(raw: unknown): bigint | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { seconds, nanos } = raw as { seconds?: unknown; nanos?: unknown };
  const s = seconds === undefined || seconds === null ? 0n : toBigInt(seconds);
  const n = nanos === undefined || nanos === null ? 0n : toBigInt(nanos);
  return s === undefined || n === undefined ? undefined : s * NANOS + n;
}

/** `1.5s`, `0s`, `-0.001s`: the protobuf JSON form of a duration. */
export function formatDuration(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const frac = (abs % NANOS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / NANOS}${frac ? `.${frac}` : ''}s`;
}

function formatTimestamp(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${formatDuration(nanos)} after the epoch`;
}

function timeKind(fmt: (v: bigint) => string) {
  return kind<bigint>({
    parse: toNanos,
    empty: (v) => v === 0n,
    rules: orderedRules(toNanos, fmt),
    range: (rules) => rangeTest(rules, toNanos, fmt),
  });
}

// ---- enums, bools, Anys ------------------------------------------------------------------------

type EnumContext = { readonly enumType?: protobuf.Enum };

/** An enum value as a number, or the name itself when the enum has no such name. */
function parseEnum(raw: unknown, ctx: EnumContext): number | string | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') return ctx.enumType?.values[raw] ?? raw;
  return undefined;
}

const enumName = (ctx: EnumContext): string => ctx.enumType?.name ?? 'enum';

/** `CONNECT`, or the number when the enum has no name for it. */
function enumText(v: number | string | undefined, ctx: EnumContext): string {
  if (typeof v === 'number') return ctx.enumType?.valuesById[v] ?? String(v);
  return String(v);
}

const ENUM = kind<number | string>({
  parse: parseEnum,
  empty: (v) => v === 0,
  rules: {
    defined_only: (arg, _rules, ctx) => {
      const type = ctx.enumType;
      if (arg !== true || !type) return undefined;
      return (v) =>
        typeof v === 'number' && v in type.valuesById ? undefined : `value ${typeof v === 'string' ? `"${v}"` : v} is not a defined ${enumName(ctx)} value`;
    },
    const: (arg, _rules, ctx) => {
      const c = parseEnum(arg, ctx);
      return (v) => (v === c ? undefined : `value ${enumText(v, ctx)} must equal ${enumText(c, ctx)}`);
    },
    in: (arg, _rules, ctx) => {
      const set = asList(arg).map((a) => parseEnum(a, ctx));
      return (v) => (set.includes(v) ? undefined : `value ${enumText(v, ctx)} must be one of [${set.map((x) => enumText(x, ctx)).join(', ')}]`);
    },
    not_in: (arg, _rules, ctx) => {
      const set = asList(arg).map((a) => parseEnum(a, ctx));
      return (v) => (set.includes(v) ? `value ${enumText(v, ctx)} must not be one of [${set.map((x) => enumText(x, ctx)).join(', ')}]` : undefined);
    },
  },
});

const BOOL = kind<boolean>({
  parse: (raw) => (typeof raw === 'boolean' ? raw : undefined),
  empty: (v) => !v,
  rules: { const: (arg) => (typeof arg === 'boolean' ? (v) => (v === arg ? undefined : `must be ${arg}`) : undefined) },
});

/** The type URL of an Any in either form: `{ '@type': url, ... }` or `{ type_url, value }`. */
function typeUrlOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { '@type': at, type_url: url } = raw as { '@type'?: unknown; type_url?: unknown };
  if (typeof at === 'string') return at;
  return typeof url === 'string' ? url : '';
}

const ANY = kind<string>({
  parse: typeUrlOf,
  empty: (v) => v === '',
  rules: {
    in: (arg) => {
      const set = asList(arg).map(String);
      return (v) => (set.includes(v) ? undefined : `type "${v}" must be one of [${set.join(', ')}]`);
    },
    not_in: (arg) => {
      const set = asList(arg).map(String);
      return (v) => (set.includes(v) ? `type "${v}" must not be one of [${set.join(', ')}]` : undefined);
    },
  },
});

const STRING = kind<string>({
  parse: (raw) => (typeof raw === 'string' ? raw : undefined),
  empty: (v) => v === '',
  rules: STRING_RULES,
});

const BYTES = kind<Uint8Array>({ parse: parseBytes, empty: (v) => v.length === 0, rules: BYTES_RULES });

const INT32 = numberKind((raw) => {
  const n = toNumber(raw);
  return n === undefined ? undefined : Math.trunc(n);
});
const FLOAT = numberKind(toNumber);
const INT64 = numberKind(toBigInt);

/** Every scalar and well-known-type rule kind of PGV's FieldRules, except repeated, map and message. */
const KINDS: Readonly<Record<string, (rules: Rules, ctx: RuleContext, name: string) => Check | undefined>> = {
  float: FLOAT,
  double: FLOAT,
  int32: INT32,
  uint32: INT32,
  sint32: INT32,
  fixed32: INT32,
  sfixed32: INT32,
  int64: INT64,
  uint64: INT64,
  sint64: INT64,
  fixed64: INT64,
  sfixed64: INT64,
  bool: BOOL,
  string: STRING,
  bytes: BYTES,
  enum: ENUM,
  any: ANY,
  duration: timeKind(formatDuration),
  timestamp: timeKind(formatTimestamp),
};

/** The check for one rule kind's rules (`{ min_len: 1 }` of kind `string`), or undefined when nothing is checked. */
export function compileKind(name: string, rules: unknown, ctx: RuleContext): Check | undefined {
  const compile = Object.hasOwn(KINDS, name) ? KINDS[name] : undefined;
  if (compile === undefined) {
    ctx.unsupported(name);
    return undefined;
  }
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) return undefined;
  return compile(rules as Rules, ctx, name);
}
