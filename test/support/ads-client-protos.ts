/**
 * Proto loading and decoding for the ADS test client. Independent of src/: the test client must not
 * share the server's encoding code, or a bug in it would cancel out on both sides.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export type AdsMethod = 'StreamAggregatedResources' | 'DeltaAggregatedResources';

/** The ADS service and every resource type the client decodes, in one load (see XDS-NOTES: Encoding). */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
];

function includeDirs(): string[] {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const envoy = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  // protobufjs ships google/protobuf/descriptor.proto, which the Envoy annotations import.
  return [...envoy, dirname(require.resolve('protobufjs/package.json'))];
}

export interface AdsProtos {
  /** The proto-loader service definition: method paths and (de)serializers. */
  readonly service: protoLoader.ServiceDefinition;
  /** A protobufjs root over the same files, for decoding (and, in tests, encoding) resources. */
  readonly root: protobuf.Root;
}

function loadService(dirs: string[]): protoLoader.ServiceDefinition {
  const pkg = protoLoader.loadSync(PROTO_FILES, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: dirs,
  });
  const service = pkg[ADS_SERVICE];
  if (service === undefined || !('StreamAggregatedResources' in service) || !('DeltaAggregatedResources' in service)) {
    throw new Error(`${ADS_SERVICE} not found in the loaded protos`);
  }
  return service;
}

function loadRoot(dirs: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    return dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
  };
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

let cached: AdsProtos | undefined;

/** Loaded once per process (a few hundred ms). */
export function adsProtos(): AdsProtos {
  if (cached === undefined) {
    const dirs = includeDirs();
    cached = { service: loadService(dirs), root: loadRoot(dirs) };
  }
  return cached;
}

export function adsMethod(method: AdsMethod): protoLoader.MethodDefinition<object, object> {
  const def = adsProtos().service[method];
  if (def === undefined) throw new Error(`${ADS_SERVICE}/${method} not found`);
  return def;
}

/** The message name of a type URL: `type.googleapis.com/envoy.config.cluster.v3.Cluster` → `envoy.config.cluster.v3.Cluster`. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * Decodes the value of an Any into JSON (snake_case; nested Anys expanded with an `@type` key).
 * Throws when the type is not loaded or the bytes do not parse.
 */
export function decodeAny(typeUrl: string, value: Uint8Array): Record<string, unknown> {
  const type = adsProtos().root.lookupType(messageNameOf(typeUrl));
  const message = type.decode(value);
  return type.toObject(message, { longs: String, enums: String, bytes: String, json: true });
}

// ---- narrowing of proto-loader's plain objects (typed `object`) ----

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(obj: unknown, key: string): unknown {
  return isRecord(obj) ? obj[key] : undefined;
}

export function stringField(obj: unknown, key: string): string {
  const v = field(obj, key);
  return typeof v === 'string' ? v : '';
}

export function arrayField(obj: unknown, key: string): unknown[] {
  const v = field(obj, key);
  return Array.isArray(v) ? v : [];
}

export function bytesField(obj: unknown, key: string): Uint8Array {
  const v = field(obj, key);
  return v instanceof Uint8Array ? v : new Uint8Array();
}
