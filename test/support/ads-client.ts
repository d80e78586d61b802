/**
 * Our own ADS client, for protocol tests: state of the world (SotwClient) and delta (DeltaClient),
 * able to misbehave on purpose (omit the node, NACK, send a stale nonce, stop reading, send garbage).
 * It shares no code with src/ (see ads-client-protos.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { adsMethod, arrayField, bytesField, decodeAny, field, messageNameOf, stringField, type AdsMethod } from './ads-client-protos.ts';
import { AdsCall, CHANNEL_OPTIONS, type GrpcStatus } from './ads-client-stream.ts';

export { AdsStreamError, type GrpcStatus } from './ads-client-stream.ts';
export { adsProtos, decodeAny } from './ads-client-protos.ts';

export interface TestNode {
  id: string;
  cluster?: string;
  metadata?: Record<string, string>;
  locality?: { region?: string; zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
}

export interface DecodedResource {
  name: string;
  typeUrl: string;
  /** Delta only: the version in the Resource wrapper. */
  version?: string;
  /** Decoded JSON of the resource, snake_case. */
  body: Record<string, unknown>;
}

export interface SotwResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: DecodedResource[];
  raw: unknown;
}

export interface DeltaResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: DecodedResource[];
  removed: string[];
  raw: unknown;
}

export interface ConnectOptions {
  /** Sent on the first request of the stream. Default: `{ id: 'ads-test-client', cluster: 'test' }`. */
  node?: TestNode;
  /** TLS (the secure xDS port): the roots to trust, a client certificate, the name to expect of the server. */
  tls?: { rootsPem: string; serverName: string; certChainPem?: string; privateKeyPem?: string };
  /** Sent as `authorization: Bearer <token>` on the stream. */
  token?: string;
}

export interface ErrorDetail {
  code: number;
  message: string;
}

export const DEFAULT_TEST_NODE: TestNode = { id: 'ads-test-client', cluster: 'test' };
const DEFAULT_TIMEOUT_MS = 5000;
/** google.rpc.Code.INVALID_ARGUMENT, what Envoy puts in a NACK. */
const NACK_CODE = 3;

// ---- wire shapes (snake_case, as proto-loader serializes them) ----

interface WireNode {
  id: string;
  cluster?: string;
  /** google.protobuf.Value is camelCase even with keepCase: protobufjs bundles struct.proto as JSON. */
  metadata?: { fields: Record<string, { stringValue: string }> };
  locality?: { region?: string; zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
}

interface WireDiscoveryRequest {
  version_info?: string;
  node?: WireNode;
  resource_names: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: ErrorDetail;
}

interface WireDeltaRequest {
  node?: WireNode;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: ErrorDetail;
}

function wireNode(node: TestNode): WireNode {
  const metadata = node.metadata && {
    fields: Object.fromEntries(Object.entries(node.metadata).map(([k, v]) => [k, { stringValue: v }])),
  };
  return {
    id: node.id,
    cluster: node.cluster,
    metadata,
    locality: node.locality,
    user_agent_name: node.user_agent_name,
    user_agent_version: node.user_agent_version,
  };
}

const CLUSTER_LOAD_ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

/** Decodes one Any; the name is `cluster_name` for endpoints, `name` for every other type. */
function decodeResource(any: unknown): DecodedResource {
  const typeUrl = stringField(any, 'type_url');
  const body = decodeAny(typeUrl, bytesField(any, 'value'));
  const nameField = messageNameOf(typeUrl) === CLUSTER_LOAD_ASSIGNMENT ? 'cluster_name' : 'name';
  return { name: stringField(body, nameField), typeUrl, body };
}

function parseSotw(message: object): SotwResponse {
  return {
    versionInfo: stringField(message, 'version_info'),
    typeUrl: stringField(message, 'type_url'),
    nonce: stringField(message, 'nonce'),
    resources: arrayField(message, 'resources').map(decodeResource),
    raw: message,
  };
}

function parseDeltaResource(wrapper: unknown, responseTypeUrl: string): DecodedResource {
  const any = field(wrapper, 'resource');
  const name = stringField(wrapper, 'name');
  const version = stringField(wrapper, 'version');
  if (any === undefined || any === null) return { name, typeUrl: responseTypeUrl, version, body: {} };
  return { ...decodeResource(any), name, version };
}

function parseDelta(message: object): DeltaResponse {
  const typeUrl = stringField(message, 'type_url');
  return {
    systemVersionInfo: stringField(message, 'system_version_info'),
    typeUrl,
    nonce: stringField(message, 'nonce'),
    resources: arrayField(message, 'resources').map((r) => parseDeltaResource(r, typeUrl)),
    removed: arrayField(message, 'removed_resources').filter((n): n is string => typeof n === 'string'),
    raw: message,
  };
}

function describe(r: { typeUrl: string; nonce: string; resources: DecodedResource[] }, version: string): string {
  const names = r.resources.map((x) => x.name).join(',');
  return `{type ${r.typeUrl}, version '${version}', nonce '${r.nonce}', resources [${names}]}`;
}

/** Channel credentials and call metadata from the connect options: plaintext and no metadata by default. */
function transport(opts: ConnectOptions | undefined): {
  credentials?: grpc.ChannelCredentials;
  metadata?: grpc.Metadata;
  channelOptions?: grpc.ChannelOptions;
} {
  const out: { credentials?: grpc.ChannelCredentials; metadata?: grpc.Metadata; channelOptions?: grpc.ChannelOptions } = {};
  if (opts?.tls) {
    const { rootsPem, certChainPem, privateKeyPem, serverName } = opts.tls;
    out.credentials = grpc.credentials.createSsl(
      Buffer.from(rootsPem),
      privateKeyPem ? Buffer.from(privateKeyPem) : null,
      certChainPem ? Buffer.from(certChainPem) : null,
    );
    out.channelOptions = { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName };
  }
  if (opts?.token !== undefined) {
    out.metadata = new grpc.Metadata();
    out.metadata.set('authorization', `Bearer ${opts.token}`);
  }
  return out;
}

/** The node on the first request only, and only when not omitted. */
class NodeOnce {
  private sent = false;
  constructor(private readonly node: TestNode) {}
  take(omit: boolean | undefined): WireNode | undefined {
    const first = !this.sent;
    this.sent = true;
    return first && omit !== true ? wireNode(this.node) : undefined;
  }
}

/** What both clients do the same way: reading responses, waiting, pausing, closing. */
abstract class AdsTestClient<Req extends object, Res extends { typeUrl: string }> {
  protected constructor(
    protected readonly stream: AdsCall<Req, Res>,
    protected readonly node: NodeOnce,
  ) {}

  /** The next response (of that type if given), in arrival order; rejects after timeoutMs. */
  next(typeUrl?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Res> {
    return this.stream.next(typeUrl, timeoutMs);
  }

  /** Resolves if no response (of that type if given) arrives within ms; consumes nothing. */
  expectSilence(ms: number, typeUrl?: string): Promise<void> {
    return this.stream.expectSilence(ms, typeUrl);
  }

  closed(): Promise<GrpcStatus> {
    return this.stream.closed();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  get received(): number {
    return this.stream.received;
  }

  /** Sum of the serialized sizes of the responses counted in `received`. */
  get receivedBytes(): number {
    return this.stream.receivedBytes;
  }

  close(): void {
    this.stream.close();
  }
}

export interface SotwRequest {
  typeUrl: string;
  resourceNames?: string[];
  versionInfo?: string;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
  omitNode?: boolean;
}

export class SotwClient extends AdsTestClient<WireDiscoveryRequest, SotwResponse> {
  private readonly lastNames = new Map<string, string[]>();
  private readonly ackedVersion = new Map<string, string>();

  /** Opens the stream; resolves once the call exists (it does not wait for the server). */
  static async connect(address: string, opts?: ConnectOptions): Promise<SotwClient> {
    const stream = new AdsCall<WireDiscoveryRequest, SotwResponse>(address, 'StreamAggregatedResources', {
      label: 'SotwClient',
      parse: parseSotw,
      describe: (r) => describe(r, r.versionInfo),
      ...transport(opts),
    });
    return new SotwClient(stream, new NodeOnce(opts?.node ?? DEFAULT_TEST_NODE));
  }

  /** Sends a DiscoveryRequest; the node goes on the first request of the stream unless `omitNode`. */
  send(req: SotwRequest): void {
    const names = req.resourceNames ?? [];
    this.lastNames.set(req.typeUrl, names);
    if (req.responseNonce !== undefined && req.errorDetail === undefined) {
      this.ackedVersion.set(req.typeUrl, req.versionInfo ?? '');
    }
    this.stream.write({
      version_info: req.versionInfo,
      node: this.node.take(req.omitNode),
      resource_names: names,
      type_url: req.typeUrl,
      response_nonce: req.responseNonce,
      error_detail: req.errorDetail,
    });
  }

  /** Initial subscribe: no nonce, no version. No names = wildcard. */
  subscribe(typeUrl: string, names?: string[]): void {
    this.send({ typeUrl, resourceNames: names });
  }

  /** ACK: the response's version and nonce; names default to the last names sent for the type. */
  ack(res: SotwResponse, names?: string[]): void {
    this.send({
      typeUrl: res.typeUrl,
      resourceNames: names ?? this.lastNames.get(res.typeUrl) ?? [],
      versionInfo: res.versionInfo,
      responseNonce: res.nonce,
    });
  }

  /** NACK: the last ACKed version of the type ('' if none), the response's nonce, error_detail code 3. */
  nack(res: SotwResponse, message: string, names?: string[]): void {
    this.send({
      typeUrl: res.typeUrl,
      resourceNames: names ?? this.lastNames.get(res.typeUrl) ?? [],
      versionInfo: this.ackedVersion.get(res.typeUrl) ?? '',
      responseNonce: res.nonce,
      errorDetail: { code: NACK_CODE, message },
    });
  }
}

export interface DeltaRequest {
  typeUrl: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
  omitNode?: boolean;
}

export class DeltaClient extends AdsTestClient<WireDeltaRequest, DeltaResponse> {
  static async connect(address: string, opts?: ConnectOptions): Promise<DeltaClient> {
    const stream = new AdsCall<WireDeltaRequest, DeltaResponse>(address, 'DeltaAggregatedResources', {
      label: 'DeltaClient',
      parse: parseDelta,
      describe: (r) => `${describe(r, r.systemVersionInfo)} removed [${r.removed.join(',')}]`,
      ...transport(opts),
    });
    return new DeltaClient(stream, new NodeOnce(opts?.node ?? DEFAULT_TEST_NODE));
  }

  send(req: DeltaRequest): void {
    this.stream.write({
      node: this.node.take(req.omitNode),
      type_url: req.typeUrl,
      resource_names_subscribe: req.subscribe ?? [],
      resource_names_unsubscribe: req.unsubscribe ?? [],
      initial_resource_versions: req.initialResourceVersions,
      response_nonce: req.responseNonce,
      error_detail: req.errorDetail,
    });
  }

  /** Default names []: a first request with no names is the legacy wildcard; pass ['*'] for explicit. */
  subscribe(typeUrl: string, names: string[] = []): void {
    this.send({ typeUrl, subscribe: names });
  }

  ack(res: DeltaResponse): void {
    this.send({ typeUrl: res.typeUrl, responseNonce: res.nonce });
  }

  nack(res: DeltaResponse, message: string): void {
    this.send({ typeUrl: res.typeUrl, responseNonce: res.nonce, errorDetail: { code: NACK_CODE, message } });
  }
}

export interface RawCall {
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  closed: Promise<GrpcStatus>;
  close(): void;
}

/**
 * A raw bidi call whose serializer passes Buffers through unchanged, to send malformed bytes.
 * Responses arrive as Buffers; the call is not read unless the test reads it (an OK status is only
 * reported once every response has been read).
 */
export function rawCall(address: string, method: AdsMethod): RawCall {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const identity = (b: Buffer): Buffer => b;
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(adsMethod(method).path, identity, identity);
  call.on('error', () => undefined); // reported through `closed`
  const closed = new Promise<GrpcStatus>((resolve) => {
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
  return {
    call,
    closed,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}
