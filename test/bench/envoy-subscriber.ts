/**
 * One state-of-the-world ADS stream subscribing as an Envoy sidecar does, over raw bytes (protobufjs's
 * Reader and Writer, no message types), so that thousands of them fit in one bench process:
 *
 *   1. CDS wildcard, with the node;
 *   2. on each CDS response: EDS for the EDS clusters it names (`eds_cluster_config.service_name`, or the
 *      cluster's name), when that set changed; then the CDS ACK; after the first one, LDS wildcard;
 *   3. on each LDS response: RDS for the route configurations its HTTP connection managers name
 *      (`rds.route_config_name`, in every filter chain and the default one), when that set changed; the ACK;
 *   4. EDS and RDS responses are ACKed at once, with the whole subscription (as Envoy's are).
 *
 * `synced`: CDS and LDS received (and so ACKed), and every subscribed EDS and RDS name received since it
 * was subscribed (a server may send those kinds only what changed). A `watch` (a resource name and bytes
 * to find in it) tells when the stream receives a given version of one resource.
 * Field numbers are those of Envoy's v3 protos (discovery, cluster, listener, http_connection_manager).
 */
import protobuf from 'protobufjs';
import { CDS, EDS } from './config.ts';

export const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire = LEN): number => (field << 3) | wire;

/** A byte range `[start, end)` of a buffer: the encoded value of one length-delimited field. */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** Each occurrence of length-delimited `field` in the message encoded at `[at.start, at.end)`. */
function lenFields(buf: Uint8Array, at: Range, field: number): Range[] {
  const out: Range[] = [];
  const r = protobuf.Reader.create(buf);
  r.pos = at.start;
  while (r.pos < at.end) {
    const t = r.uint32();
    if (t === tag(field)) {
      const len = r.uint32();
      out.push({ start: r.pos, end: r.pos + len });
      r.pos += len;
    } else r.skipType(t & 7);
  }
  return out;
}

function firstLen(buf: Uint8Array, at: Range, field: number): Range | undefined {
  return lenFields(buf, at, field)[0];
}

const text = (buf: Uint8Array, at: Range | undefined): string =>
  at ? Buffer.from(buf.buffer, buf.byteOffset + at.start, at.end - at.start).toString('utf8') : '';

/** The last value of varint `field` (proto3: the last one wins), or 0 (the default) when absent. */
function varintField(buf: Uint8Array, at: Range, field: number): number {
  let value = 0;
  const r = protobuf.Reader.create(buf);
  r.pos = at.start;
  while (r.pos < at.end) {
    const t = r.uint32();
    if (t === tag(field, VARINT)) value = r.uint32();
    else r.skipType(t & 7);
  }
  return value;
}

/** A DiscoveryResponse: its envelope, and the byte range of each packed resource (the Any's value). */
export interface SotwResponse {
  readonly buf: Uint8Array;
  readonly version: string;
  readonly nonce: string;
  readonly typeUrl: string;
  readonly resources: readonly Range[];
}

export function parseResponse(buf: Uint8Array): SotwResponse {
  const all: Range = { start: 0, end: buf.length };
  const resources = lenFields(buf, all, 2).flatMap((any) => {
    const value = firstLen(buf, any, 2);
    return value ? [value] : [];
  });
  return { buf, version: text(buf, firstLen(buf, all, 1)), typeUrl: text(buf, firstLen(buf, all, 4)), nonce: text(buf, firstLen(buf, all, 5)), resources };
}

/** Field 1 of a resource: Cluster, Listener and RouteConfiguration `name`, ClusterLoadAssignment `cluster_name`. */
export function resourceName(res: SotwResponse, at: Range): string {
  return text(res.buf, firstLen(res.buf, at, 1));
}

const EDS_TYPE = 3; // Cluster.DiscoveryType.EDS

/** The EDS name a Cluster subscribes to: its `eds_cluster_config.service_name`, or its name; undefined unless of type EDS. */
export function clusterEdsName(res: SotwResponse, at: Range): string | undefined {
  if (varintField(res.buf, at, 2) !== EDS_TYPE) return undefined;
  const eds = firstLen(res.buf, at, 3);
  const service = eds ? text(res.buf, firstLen(res.buf, eds, 2)) : '';
  return service || resourceName(res, at);
}

/** The route configurations a Listener's HTTP connection managers name over RDS (filter_chains and default_filter_chain). */
export function listenerRouteNames(res: SotwResponse, at: Range): string[] {
  const buf = res.buf;
  const chains = [...lenFields(buf, at, 3), ...lenFields(buf, at, 25)];
  const names: string[] = [];
  for (const chain of chains) {
    for (const filter of lenFields(buf, chain, 3)) {
      const typed = firstLen(buf, filter, 4);
      if (!typed || text(buf, firstLen(buf, typed, 1)) !== HCM) continue;
      const hcm = firstLen(buf, typed, 2);
      const rds = hcm && firstLen(buf, hcm, 3);
      const name = rds ? text(buf, firstLen(buf, rds, 2)) : '';
      if (name) names.push(name);
    }
  }
  return names;
}

// ---- requests ----

function finish(w: protobuf.Writer): Buffer {
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface SidecarNode {
  readonly id: string;
  readonly cluster: string;
  /** node.metadata, string values only. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** An encoded envoy.config.core.v3.Node: id 1, cluster 2, metadata 3 (Struct: fields 1, map<string, Value{string_value 3}>), user_agent_name 6. */
export function encodeNode(node: SidecarNode): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(node.id).uint32(tag(2)).string(node.cluster);
  w.uint32(tag(3)).fork();
  for (const [k, v] of Object.entries(node.metadata)) {
    w.uint32(tag(1)).fork().uint32(tag(1)).string(k).uint32(tag(2)).fork().uint32(tag(3)).string(v).ldelim().ldelim();
  }
  w.ldelim();
  w.uint32(tag(6)).string('envoy');
  return finish(w);
}

/** A DiscoveryRequest: version_info 1, node 2 (encoded), resource_names 3 (pre-encoded), type_url 4, response_nonce 5. */
export function discoveryRequest(opts: { typeUrl: string; node?: Buffer; version?: string; nonce?: string; names?: Buffer }): Buffer {
  const w = protobuf.Writer.create();
  if (opts.version) w.uint32(tag(1)).string(opts.version);
  if (opts.node) w.uint32(tag(2)).bytes(opts.node);
  w.uint32(tag(4)).string(opts.typeUrl);
  if (opts.nonce) w.uint32(tag(5)).string(opts.nonce);
  const head = finish(w);
  return opts.names && opts.names.length > 0 ? Buffer.concat([head, opts.names]) : head;
}

// ---- name sets, shared between streams ----

/** A sorted set of resource names, with each name's position and the names encoded as field 3 of a request. */
export interface NameSet {
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  readonly encoded: Buffer;
}

/** Interns name sets: streams that subscribe to the same names share one NameSet (and one encoding). */
export class NameSets {
  private readonly sets = new Map<string, NameSet>();

  of(names: Iterable<string>): NameSet {
    const sorted = [...new Set(names)].sort();
    const key = sorted.join('\n');
    let set = this.sets.get(key);
    if (!set) {
      const w = protobuf.Writer.create();
      for (const n of sorted) w.uint32(tag(3)).string(n);
      set = { names: sorted, index: new Map(sorted.map((n, i) => [n, i])), encoded: finish(w) };
      this.sets.set(key, set);
    }
    return set;
  }

  get size(): number {
    return this.sets.size;
  }
}

// ---- the subscriber ----

/** What one type of a stream holds: the last response's version and nonce, and for EDS/RDS the subscription. */
class TypeSub {
  version = '';
  nonce = '';
  received = false;
  set: NameSet | undefined;
  /** have[i]: set.names[i] received since it was subscribed. */
  private have = new Uint8Array(0);
  missing = 0;

  /** Subscribes to `next`; names of the previous set already received stay held. Returns whether the set changed. */
  resubscribe(next: NameSet): boolean {
    const prev = this.set;
    if (prev === next) return false;
    const have = new Uint8Array(next.names.length);
    let missing = next.names.length;
    if (prev) {
      next.names.forEach((n, i) => {
        const j = prev.index.get(n);
        if (j !== undefined && this.have[j]) {
          have[i] = 1;
          missing--;
        }
      });
    }
    this.set = next;
    this.have = have;
    this.missing = missing;
    return true;
  }

  /** Marks `name` as received (if subscribed). */
  got(name: string): void {
    const i = this.set?.index.get(name);
    if (i === undefined || this.have[i]) return;
    this.have[i] = 1;
    this.missing--;
  }

  answered(res: SotwResponse): void {
    this.version = res.version;
    this.nonce = res.nonce;
    this.received = true;
  }

  request(typeUrl: string): Buffer {
    return discoveryRequest({ typeUrl, version: this.version, nonce: this.nonce, ...(this.set ? { names: this.set.encoded } : {}) });
  }
}

/**
 * The bytes of `address` as a SocketAddress encodes it (field 2, length, text): found only where it is the
 * whole address (10.64.0.1 is not found in 10.64.0.10).
 */
export function addressNeedle(address: string): Buffer {
  return finish(protobuf.Writer.create().uint32(tag(2)).string(address));
}

export interface Watch {
  /** The resource (of `typeUrl`) to look for. */
  readonly typeUrl: string;
  readonly name: string;
  /** Bytes its new version holds (an address, say). */
  readonly needle: Buffer;
}

export interface Handled {
  /** Requests to write, in order. */
  readonly requests: readonly Buffer[];
  readonly typeUrl: string;
  /** The response held the watched resource with the watched bytes. */
  readonly watched: boolean;
}

export class EnvoySubscriber {
  private readonly cds = new TypeSub();
  private readonly lds = new TypeSub();
  private readonly eds = new TypeSub();
  private readonly rds = new TypeSub();
  watch: Watch | undefined;

  constructor(
    private readonly node: Buffer,
    private readonly sets: NameSets,
  ) {}

  /** The first request of the stream: CDS wildcard, with the node. */
  start(): Buffer {
    return discoveryRequest({ typeUrl: CDS, node: this.node });
  }

  get synced(): boolean {
    return this.cds.received && this.lds.received && this.eds.missing === 0 && this.rds.missing === 0;
  }

  /** The EDS names subscribed to (empty before the first CDS response). */
  get edsNames(): NameSet | undefined {
    return this.eds.set;
  }

  get rdsNames(): NameSet | undefined {
    return this.rds.set;
  }

  handle(buf: Uint8Array): Handled {
    const res = parseResponse(buf);
    switch (res.typeUrl) {
      case CDS:
        return { requests: this.onClusters(res), typeUrl: CDS, watched: this.found(res) };
      case LDS:
        return { requests: this.onListeners(res), typeUrl: LDS, watched: this.found(res) };
      case EDS:
      case RDS: {
        const sub = res.typeUrl === EDS ? this.eds : this.rds;
        for (const at of res.resources) sub.got(resourceName(res, at));
        sub.answered(res);
        return { requests: [sub.request(res.typeUrl)], typeUrl: res.typeUrl, watched: this.found(res) };
      }
      default:
        throw new Error(`unexpected response type ${res.typeUrl}`);
    }
  }

  private onClusters(res: SotwResponse): Buffer[] {
    const first = !this.cds.received;
    const names = res.resources.flatMap((at) => clusterEdsName(res, at) ?? []);
    const out: Buffer[] = [];
    if (this.eds.resubscribe(this.sets.of(names))) out.push(this.eds.request(EDS));
    this.cds.answered(res);
    out.push(this.cds.request(CDS));
    if (first) out.push(discoveryRequest({ typeUrl: LDS }));
    return out;
  }

  private onListeners(res: SotwResponse): Buffer[] {
    const names = res.resources.flatMap((at) => listenerRouteNames(res, at));
    const out: Buffer[] = [];
    if (this.rds.resubscribe(this.sets.of(names))) out.push(this.rds.request(RDS));
    this.lds.answered(res);
    out.push(this.lds.request(LDS));
    return out;
  }

  private found(res: SotwResponse): boolean {
    const w = this.watch;
    if (!w || w.typeUrl !== res.typeUrl) return false;
    const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.byteLength);
    for (const at of res.resources) {
      if (resourceName(res, at) !== w.name) continue;
      const i = buf.indexOf(w.needle, at.start);
      return i >= 0 && i + w.needle.length <= at.end;
    }
    return false;
  }
}
