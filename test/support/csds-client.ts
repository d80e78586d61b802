/**
 * A CSDS client (envoy.service.status.v3.ClientStatusDiscoveryService) generated from Envoy's proto by
 * @grpc/proto-loader and grpc-js, as grpcdebug would be: it shares no code with src/.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { decodeAny } from './ads-client-protos.ts';

const require = createRequire(import.meta.url);

/** A StringMatcher as proto-loader takes it: one of exact, prefix, suffix, contains, safe_regex, custom. */
export type StringMatcher = Record<string, unknown>;

export interface ClientStatusRequest {
  node_matchers?: { node_id?: StringMatcher; node_metadatas?: unknown[] }[];
  exclude_resource_contents?: boolean;
}

export interface Timestamp {
  seconds: string;
  nanos?: number;
}

export interface WireAny {
  type_url: string;
  value: Buffer;
}

export interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info?: string;
  xds_config?: WireAny;
  last_updated?: Timestamp;
  config_status?: string;
  client_status?: string;
  error_state?: { failed_configuration?: WireAny; last_update_attempt?: Timestamp; details?: string; version_info?: string };
}

export interface ClientConfig {
  node?: { id: string; cluster?: string; metadata?: unknown; user_agent_name?: string; user_agent_version?: string };
  generic_xds_configs?: GenericXdsConfig[];
}

export interface ClientStatusResponse {
  config?: ClientConfig[];
}

type Client = grpc.Client & {
  FetchClientStatus(req: ClientStatusRequest, cb: (err: grpc.ServiceError | null, res?: ClientStatusResponse) => void): grpc.ClientUnaryCall;
  StreamClientStatus(): grpc.ClientDuplexStream<ClientStatusRequest, ClientStatusResponse>;
};

function includeDirs(): string[] {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)), dirname(require.resolve('protobufjs/package.json'))];
}

let ctor: (new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => Client) | undefined;

function clientConstructor(): NonNullable<typeof ctor> {
  if (ctor === undefined) {
    const pkg = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: includeDirs(),
    });
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as { envoy: { service: { status: { v3: { ClientStatusDiscoveryService: typeof ctor } } } } };
    ctor = loaded.envoy.service.status.v3.ClientStatusDiscoveryService;
    if (ctor === undefined) throw new Error('ClientStatusDiscoveryService not found in csds.proto');
  }
  return ctor;
}

export class CsdsClient {
  private readonly client: Client;

  /** Plaintext unless `tls` is given: the roots to trust and the name to expect of the server. */
  constructor(address: string, tls?: { rootsPem: string; serverName: string }) {
    const credentials = tls ? grpc.credentials.createSsl(Buffer.from(tls.rootsPem)) : grpc.credentials.createInsecure();
    const names = tls ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
    this.client = new (clientConstructor())(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...names });
  }

  fetch(req: ClientStatusRequest = {}): Promise<ClientStatusResponse> {
    return new Promise((resolve, reject) => {
      this.client.FetchClientStatus(req, (err, res) => (err ? reject(err) : resolve(res ?? {})));
    });
  }

  stream(): grpc.ClientDuplexStream<ClientStatusRequest, ClientStatusResponse> {
    return this.client.StreamClientStatus();
  }

  close(): void {
    this.client.close();
  }
}

/** The configs of one node, or throws naming the nodes there are. */
export function configOf(res: ClientStatusResponse, nodeId: string): GenericXdsConfig[] {
  const found = (res.config ?? []).filter((c) => c.node?.id === nodeId);
  if (found.length !== 1) throw new Error(`${found.length} ClientConfigs for ${nodeId}; nodes: ${(res.config ?? []).map((c) => c.node?.id).join(', ')}`);
  return found[0]?.generic_xds_configs ?? [];
}

/** The node ids a response has a ClientConfig for, in its order. */
export function nodesOf(res: ClientStatusResponse): string[] {
  return (res.config ?? []).map((c) => c.node?.id ?? '');
}

/** An Any of the response decoded to JSON with the test client's own protos. */
export function decoded(any: WireAny | undefined): Record<string, unknown> | undefined {
  return any === undefined ? undefined : decodeAny(any.type_url, any.value);
}
