/**
 * protoc-gen-validate rules for strings and bytes: lengths, affixes, patterns, sets and the
 * well-known formats (HTTP header names and values, hostnames, IPs, URIs, ...).
 */
import { isIP } from 'node:net';
import type protobuf from 'protobufjs';

export type Rules = Readonly<Record<string, unknown>>;

/** A test of one parsed value: a message saying what is wrong, or undefined. */
export type Test<T> = (value: T) => string | undefined;

/** Builds the test for one rule from its argument (and its sibling rules); undefined when there is nothing to test. */
export type Builder<T> = (arg: unknown, rules: Rules, ctx: { readonly enumType?: protobuf.Enum }) => Test<T> | undefined;

/** A repeated rule argument: textproto lets `not_in: 6` stand for `not_in: [6]`. */
export function asList(arg: unknown): unknown[] {
  if (arg === undefined || arg === null) return [];
  return Array.isArray(arg) ? arg : [arg];
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** Characters as PGV counts them: Unicode code points, not UTF-16 units. */
function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function lengthRule<T>(measure: (v: T) => number, unit: string, cmp: 'min' | 'max' | 'exact'): Builder<T> {
  return (arg) => {
    if (typeof arg !== 'number' && typeof arg !== 'string') return undefined;
    const n = Number(arg);
    if (cmp === 'min') return (v) => (measure(v) >= n ? undefined : `must be at least ${plural(n, unit)}${measure(v) > 0 ? `, got ${measure(v)}` : ''}`);
    if (cmp === 'max') return (v) => (measure(v) <= n ? undefined : `must be at most ${plural(n, unit)}, got ${measure(v)}`);
    return (v) => (measure(v) === n ? undefined : `must be exactly ${plural(n, unit)}, got ${measure(v)}`);
  };
}

/** An RE2 pattern as a JavaScript RegExp; the patterns Envoy uses are in their common subset. */
function toRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    try {
      return new RegExp(pattern);
    } catch {
      return undefined;
    }
  }
}

// PGV's well-known regexes (validate.proto, KnownRegex), strict and lax.
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LAX = /^[^\u0000\u000A\u000D]*$/;

const WELL_KNOWN_REGEX: Readonly<Record<string, { strict: RegExp; lax: RegExp; what: string }>> = {
  HTTP_HEADER_NAME: { strict: HEADER_NAME_STRICT, lax: HEADER_LAX, what: 'HTTP header name' },
  HTTP_HEADER_VALUE: { strict: HEADER_VALUE_STRICT, lax: HEADER_LAX, what: 'HTTP header value' },
};
const KNOWN_REGEX_BY_NUMBER = ['UNKNOWN', 'HTTP_HEADER_NAME', 'HTTP_HEADER_VALUE'];

function isHostname(s: string): boolean {
  const host = s.endsWith('.') ? s.slice(0, -1) : s;
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((label) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(label));
}

function isUri(s: string, relative: boolean): boolean {
  try {
    if (relative) new URL(s, 'http://relative.invalid/');
    else new URL(s);
    return true;
  } catch {
    return false;
  }
}

const FORMATS: Readonly<Record<string, { test: (s: string) => boolean; what: string }>> = {
  email: { test: (s) => /^[^@\s<>]+@[^@\s<>]+$/.test(s) && isHostname(s.slice(s.lastIndexOf('@') + 1)), what: 'an email address' },
  hostname: { test: isHostname, what: 'a hostname' },
  ip: { test: (s) => isIP(s) !== 0, what: 'an IP address' },
  ipv4: { test: (s) => isIP(s) === 4, what: 'an IPv4 address' },
  ipv6: { test: (s) => isIP(s) === 6, what: 'an IPv6 address' },
  uri: { test: (s) => isUri(s, false), what: 'an absolute URI' },
  uri_ref: { test: (s) => isUri(s, true), what: 'a URI reference' },
  address: { test: (s) => isIP(s) !== 0 || isHostname(s), what: 'a hostname or an IP address' },
  uuid: { test: (s) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s), what: 'a UUID' },
};

function formatRule(name: string): Builder<string> {
  const format = FORMATS[name];
  return (arg) => (arg === true && format ? (v) => (format.test(v) ? undefined : `must be ${format.what}, got ${JSON.stringify(v)}`) : undefined);
}

function stringAffix(test: (v: string, a: string) => boolean, text: string): Builder<string> {
  return (arg) => {
    if (typeof arg !== 'string') return undefined;
    return (v) => (test(v, arg) ? undefined : `must ${text} ${JSON.stringify(arg)}`);
  };
}

export const STRING_RULES: Readonly<Record<string, Builder<string>>> = {
  const: (arg) => (typeof arg === 'string' ? (v) => (v === arg ? undefined : `must equal ${JSON.stringify(arg)}`) : undefined),
  len: lengthRule(charCount, 'character', 'exact'),
  min_len: lengthRule(charCount, 'character', 'min'),
  max_len: lengthRule(charCount, 'character', 'max'),
  len_bytes: lengthRule(utf8Length, 'byte', 'exact'),
  min_bytes: lengthRule(utf8Length, 'byte', 'min'),
  max_bytes: lengthRule(utf8Length, 'byte', 'max'),
  prefix: stringAffix((v, a) => v.startsWith(a), 'start with'),
  suffix: stringAffix((v, a) => v.endsWith(a), 'end with'),
  contains: stringAffix((v, a) => v.includes(a), 'contain'),
  not_contains: stringAffix((v, a) => !v.includes(a), 'not contain'),
  pattern: (arg) => {
    const re = typeof arg === 'string' ? toRegExp(arg) : undefined;
    return re && ((v) => (re.test(v) ? undefined : `must match the pattern ${JSON.stringify(arg)}, got ${JSON.stringify(v)}`));
  },
  in: (arg) => {
    const set = asList(arg).map(String);
    return (v) => (set.includes(v) ? undefined : `must be one of [${set.join(', ')}], got ${JSON.stringify(v)}`);
  },
  not_in: (arg) => {
    const set = asList(arg).map(String);
    return (v) => (set.includes(v) ? `must not be one of [${set.join(', ')}]` : undefined);
  },
  well_known_regex: (arg, rules) => {
    const name = typeof arg === 'number' ? KNOWN_REGEX_BY_NUMBER[arg] : arg;
    const known = typeof name === 'string' ? WELL_KNOWN_REGEX[name] : undefined;
    if (!known) return undefined;
    // `strict` defaults to true in PGV; Envoy's protos mostly set it to false.
    const re = rules['strict'] === false ? known.lax : known.strict;
    return (v) => (re.test(v) ? undefined : `must be a valid ${known.what}, got ${JSON.stringify(v)}`);
  },
  ...Object.fromEntries(Object.keys(FORMATS).map((name) => [name, formatRule(name)])),
};

/** Bytes as JSON-ish objects carry them: a Uint8Array, a base64 string or an array of octets. */
export function parseBytes(raw: unknown): Uint8Array | undefined {
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw === 'string') return Buffer.from(raw, 'base64');
  if (Array.isArray(raw) && raw.every((b) => typeof b === 'number')) return Uint8Array.from(raw);
  return undefined;
}

/** A bytes rule argument: protobufjs reads textproto byte strings as (latin1) strings. */
function argBytes(arg: unknown): Buffer | undefined {
  if (typeof arg === 'string') return Buffer.from(arg, 'latin1');
  if (arg instanceof Uint8Array) return Buffer.from(arg);
  return undefined;
}

function bytesAffix(test: (v: Buffer, a: Buffer) => boolean, text: string): Builder<Uint8Array> {
  return (arg) => {
    const a = argBytes(arg);
    return a && ((v) => (test(Buffer.from(v), a) ? undefined : `must ${text} 0x${a.toString('hex')}`));
  };
}

const bytesIn = (set: Buffer[], v: Uint8Array): boolean => set.some((b) => b.equals(v));

export const BYTES_RULES: Readonly<Record<string, Builder<Uint8Array>>> = {
  len: lengthRule((v: Uint8Array) => v.length, 'byte', 'exact'),
  min_len: lengthRule((v: Uint8Array) => v.length, 'byte', 'min'),
  max_len: lengthRule((v: Uint8Array) => v.length, 'byte', 'max'),
  const: bytesAffix((v, a) => v.equals(a), 'equal'),
  prefix: bytesAffix((v, a) => v.subarray(0, a.length).equals(a), 'start with'),
  suffix: bytesAffix((v, a) => v.length >= a.length && v.subarray(v.length - a.length).equals(a), 'end with'),
  contains: bytesAffix((v, a) => v.includes(a), 'contain'),
  pattern: (arg) => {
    const re = typeof arg === 'string' ? toRegExp(arg) : undefined;
    return re && ((v) => (re.test(Buffer.from(v).toString('latin1')) ? undefined : `must match the pattern ${JSON.stringify(arg)}`));
  },
  in: (arg) => {
    const set = asList(arg)
      .map(argBytes)
      .filter((b): b is Buffer => b !== undefined);
    return (v) => (bytesIn(set, v) ? undefined : 'must be one of the allowed values');
  },
  not_in: (arg) => {
    const set = asList(arg)
      .map(argBytes)
      .filter((b): b is Buffer => b !== undefined);
    return (v) => (bytesIn(set, v) ? 'must not be one of the forbidden values' : undefined);
  },
  ip: (arg) => (arg === true ? (v) => (v.length === 4 || v.length === 16 ? undefined : `must be 4 or 16 bytes (an IP address), got ${v.length}`) : undefined),
  ipv4: (arg) => (arg === true ? (v) => (v.length === 4 ? undefined : `must be 4 bytes (an IPv4 address), got ${v.length}`) : undefined),
  ipv6: (arg) => (arg === true ? (v) => (v.length === 16 ? undefined : `must be 16 bytes (an IPv6 address), got ${v.length}`) : undefined),
};
