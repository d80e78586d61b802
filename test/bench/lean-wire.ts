/**
 * Just enough of the ADS wire format for the bench, with protobufjs's Reader and Writer and no
 * message types: the clients read only the envelope of a response (type URL, version, nonce, how
 * many resources, and whether one of them has a given name, compared as bytes); the floor server
 * reads only the type URL and nonce of a request. Field numbers are those of
 * envoy/service/discovery/v3/discovery.proto.
 */
import protobuf from 'protobufjs';

const LEN = 2;
const tag = (field: number): number => (field << 3) | LEN;

// ---- responses (read by the clients) ----

export interface ResponseEnvelope {
  typeUrl: string;
  /** version_info (SotW) or system_version_info (delta). */
  version: string;
  nonce: string;
  /** Number of resources in the response. */
  count: number;
  /** Some resource is named `target` (only looked for when a target is given). */
  matched: boolean;
}

function equalsAt(buf: Uint8Array, start: number, len: number, target: Uint8Array): boolean {
  if (len !== target.length) return false;
  for (let i = 0; i < len; i++) if (buf[start + i] !== target[i]) return false;
  return true;
}

/** In an encoded message `[start, end)`, the byte range of the first occurrence of length-delimited field `field`. */
function findField(r: protobuf.Reader, end: number, field: number): { start: number; len: number } | undefined {
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(field)) {
      const len = r.uint32();
      return { start: r.pos, len };
    }
    r.skipType(t & 7);
  }
  return undefined;
}

/** SotW: resources are Anys; the name is field 1 of the packed value (Cluster.name, ClusterLoadAssignment.cluster_name). */
function anyHasName(buf: Uint8Array, start: number, end: number, target: Uint8Array): boolean {
  const r = protobuf.Reader.create(buf);
  r.pos = start;
  const value = findField(r, end, 2);
  if (!value) return false;
  r.pos = value.start;
  const name = findField(r, value.start + value.len, 1);
  return name !== undefined && equalsAt(buf, name.start, name.len, target);
}

/** Delta: resources are envoy.service.discovery.v3.Resource, whose name is field 3. */
function resourceHasName(buf: Uint8Array, start: number, end: number, target: Uint8Array): boolean {
  const r = protobuf.Reader.create(buf);
  r.pos = start;
  const name = findField(r, end, 3);
  return name !== undefined && equalsAt(buf, name.start, name.len, target);
}

/** Reads a DiscoveryResponse or DeltaDiscoveryResponse envelope without decoding any resource. */
export function readResponse(buf: Uint8Array, delta: boolean, target: Uint8Array | undefined): ResponseEnvelope {
  const out: ResponseEnvelope = { typeUrl: '', version: '', nonce: '', count: 0, matched: false };
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case tag(1):
        out.version = r.string();
        break;
      case tag(2): {
        const len = r.uint32();
        const start = r.pos;
        r.skip(len);
        out.count++;
        if (target && !out.matched) {
          out.matched = delta ? resourceHasName(buf, start, start + len, target) : anyHasName(buf, start, start + len, target);
        }
        break;
      }
      case tag(4):
        out.typeUrl = r.string();
        break;
      case tag(5):
        out.nonce = r.string();
        break;
      default:
        r.skipType(t & 7);
    }
  }
  return out;
}

// ---- requests (written by the clients) ----

function finish(w: protobuf.Writer): Buffer {
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function writeNode(w: protobuf.Writer, field: number, id: string): void {
  // envoy.config.core.v3.Node: id = 1, cluster = 2, user_agent_name = 6.
  w.uint32(tag(field)).fork().uint32(tag(1)).string(id).uint32(tag(2)).string('bench').uint32(tag(6)).string('trellis-bench').ldelim();
}

/** Repeated string field `field` holding `names`, encoded once and appended to many requests. */
export function encodeNames(field: number, names: readonly string[]): Buffer {
  const w = protobuf.Writer.create();
  for (const n of names) w.uint32(tag(field)).string(n);
  return finish(w);
}

/** A SotW DiscoveryRequest. `names` is a pre-encoded field 3 (see encodeNames) or empty. */
export function sotwRequest(opts: { nodeId?: string; typeUrl: string; version?: string; nonce?: string; names?: Buffer }): Buffer {
  const w = protobuf.Writer.create();
  if (opts.version) w.uint32(tag(1)).string(opts.version);
  if (opts.nodeId !== undefined) writeNode(w, 2, opts.nodeId);
  w.uint32(tag(4)).string(opts.typeUrl);
  if (opts.nonce) w.uint32(tag(5)).string(opts.nonce);
  const head = finish(w);
  return opts.names && opts.names.length > 0 ? Buffer.concat([head, opts.names]) : head;
}

/** A DeltaDiscoveryRequest. `subscribe` is a pre-encoded field 3 (see encodeNames) or empty. */
export function deltaRequest(opts: { nodeId?: string; typeUrl: string; nonce?: string; subscribe?: Buffer }): Buffer {
  const w = protobuf.Writer.create();
  if (opts.nodeId !== undefined) writeNode(w, 1, opts.nodeId);
  w.uint32(tag(2)).string(opts.typeUrl);
  if (opts.nonce) w.uint32(tag(6)).string(opts.nonce);
  const head = finish(w);
  return opts.subscribe && opts.subscribe.length > 0 ? Buffer.concat([head, opts.subscribe]) : head;
}

// ---- requests (read by the floor server) ----

export interface RequestEnvelope {
  typeUrl: string;
  nonce: string;
}

/** The type URL and nonce of a DiscoveryRequest (4, 5) or DeltaDiscoveryRequest (2, 6); everything else is skipped. */
export function readRequest(buf: Uint8Array, delta: boolean): RequestEnvelope {
  const typeField = tag(delta ? 2 : 4);
  const nonceField = tag(delta ? 6 : 5);
  const out: RequestEnvelope = { typeUrl: '', nonce: '' };
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === typeField) out.typeUrl = r.string();
    else if (t === nonceField) out.nonce = r.string();
    else r.skipType(t & 7);
  }
  return out;
}

// ---- responses (built once by the floor server) ----

/** A SotW DiscoveryResponse around already-encoded Anys (field order as protobufjs writes it). */
export function sotwResponse(version: string, anys: readonly Uint8Array[], typeUrl: string, nonce: string): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(version);
  for (const a of anys) w.uint32(tag(2)).bytes(a);
  w.uint32(tag(4)).string(typeUrl).uint32(tag(5)).string(nonce);
  return finish(w);
}

/** A DeltaDiscoveryResponse around already-encoded Resources. */
export function deltaResponse(version: string, resources: readonly Uint8Array[], typeUrl: string, nonce: string): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(version);
  for (const r of resources) w.uint32(tag(2)).bytes(r);
  w.uint32(tag(4)).string(typeUrl).uint32(tag(5)).string(nonce);
  return finish(w);
}

/** An encoded google.protobuf.Any. */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return finish(protobuf.Writer.create().uint32(tag(1)).string(typeUrl).uint32(tag(2)).bytes(value));
}

/** An encoded envoy.service.discovery.v3.Resource: version = 1, resource = 2 (Any), name = 3. */
export function encodeResource(name: string, version: string, any: Uint8Array): Buffer {
  return finish(protobuf.Writer.create().uint32(tag(1)).string(version).uint32(tag(2)).bytes(any).uint32(tag(3)).string(name));
}
