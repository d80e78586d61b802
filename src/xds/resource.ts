/**
 * A resource as the cache holds it: encoded once, versioned by its content, immutable, and shared
 * by every proxy class and every stream that serves it.
 */
import type { ObjectRef } from '../diagnostics.js';
import { createHash } from 'node:crypto';
import { encodeAny, encodeMessage } from '../envoy/codec.js';
import { messageNameOf, TypeUrl, type ResourceKind } from '../envoy/types.js';

export interface ResourceEntry {
  readonly kind: ResourceKind;
  readonly name: string;
  /** A hash of the encoded resource: the same content always has the same version, on any replica. */
  readonly version: string;
  /** The version as four 32-bit words, for order-independent set digests (XOR). */
  readonly digest: Uint32Array;
  /** The resource as an encoded google.protobuf.Any, as state-of-the-world responses carry it. */
  readonly any: Uint8Array;
  /** The resource as an encoded envoy.service.discovery.v3.Resource (name, version, Any), for delta. */
  readonly delta: Uint8Array;
  /** The source objects that produced it, to trace a NACK back to its cause. */
  readonly sources: readonly ObjectRef[];
}

const RESOURCE = 'envoy.service.discovery.v3.Resource';

/** Encodes one resource. Throws EncodeError (naming the field) when the object is not a valid message. */
export function encodeEntry(kind: ResourceKind, name: string, message: object, sources: readonly ObjectRef[]): ResourceEntry {
  const typeUrl = TypeUrl[kind];
  const bytes = encodeMessage(messageNameOf(typeUrl), message);
  const hash = createHash('sha256').update(bytes).digest();
  const version = hash.subarray(0, 16).toString('hex');
  const digest = new Uint32Array(4);
  for (let i = 0; i < 4; i++) digest[i] = hash.readUInt32BE(i * 4);
  const any = encodeAny(typeUrl, bytes);
  const delta = encodeMessage(RESOURCE, { name, version, resource: { type_url: typeUrl, value: bytes } });
  return { kind, name, version, digest, any, delta, sources };
}

/** An order-independent digest of a set of entries (XOR of their content hashes), as 32 hex chars. */
export class SetDigest {
  private readonly words = new Uint32Array(4);

  toggle(entry: ResourceEntry): void {
    for (let i = 0; i < 4; i++) this.words[i] = (this.words[i] ?? 0) ^ (entry.digest[i] ?? 0);
  }

  /** Starts from a version (the digest of a set) instead of the empty set. */
  static of(version: string): SetDigest {
    const d = new SetDigest();
    for (let i = 0; i < 4; i++) d.words[i] = Number.parseInt(version.slice(i * 8, i * 8 + 8), 16);
    return d;
  }

  toString(): string {
    return hexWords(this.words);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Each word as 8 hex digits, most significant first. */
function hexWords(words: Uint32Array): string {
  let out = '';
  for (const w of words) out += (HEX[w >>> 24] ?? '') + (HEX[(w >>> 16) & 255] ?? '') + (HEX[(w >>> 8) & 255] ?? '') + (HEX[w & 255] ?? '');
  return out;
}

/** The digest of the union of disjoint sets, from their digests (versions). */
export function combineVersions(versions: readonly string[]): string {
  const words = new Uint32Array(4);
  for (const v of versions) for (let i = 0; i < 4; i++) words[i] = (words[i] ?? 0) ^ Number.parseInt(v.slice(i * 8, i * 8 + 8), 16);
  return hexWords(words);
}

/** The digest of a whole set at once. */
export function digestOf(entries: Iterable<ResourceEntry>): string {
  const d = new SetDigest();
  for (const e of entries) d.toggle(e);
  return d.toString();
}

/** The digest of a set (`version`) with the entries `out` taken out and `into` put in. */
export function steppedVersion(version: string, out: readonly ResourceEntry[], into: readonly ResourceEntry[]): string {
  const d = SetDigest.of(version);
  for (const e of out) d.toggle(e);
  for (const e of into) d.toggle(e);
  return d.toString();
}
