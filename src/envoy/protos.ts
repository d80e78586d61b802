/**
 * The Envoy API, loaded once.
 *
 * Every message type that may be packed into an `Any` must live in this one protobufjs root:
 * a type missing from the root is not an error to protobufjs, the `Any` is silently encoded
 * empty. So the list of files below is the single place that decides which Envoy types Trellis
 * can emit, and nothing else in the code base loads Envoy protos.
 */
import { createRequire } from 'node:module';
import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** Directories that hold the Envoy API, as shipped inside @grpc/grpc-js-xds. */
export function envoyIncludeDirs(): string[] {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
}

/** The project's own protos (proto/ at the repository root). */
export const projectProtoDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../proto');

/** Every Envoy API file Trellis encodes from. Add a file here when a new extension is emitted. */
export const ENVOY_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/grpc_credential/v3/file_based_metadata.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/service/status/v3/csds.proto',
  'trellis/wire/discovery.proto',
] as const;

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const builtin = root.resolvePath.bind(root);
  // protobufjs bundles most google/protobuf files but not descriptor.proto, which Envoy's
  // annotations import; it ships the file in its package.
  const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));
  const dirs = [...envoyIncludeDirs(), projectProtoDir, protobufjsDir];
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = join(dir, target);
      try {
        accessSync(candidate, constants.R_OK);
        return candidate;
      } catch {
        // not in this directory; try the next one
      }
    }
    // google/protobuf/*.proto are built into protobufjs
    return builtin(origin, target) ?? null;
  };
  root.loadSync([...ENVOY_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

let cached: protobuf.Root | undefined;

/** The single protobufjs root holding the Envoy API and Trellis's own protos. */
export function envoyRoot(): protobuf.Root {
  cached ??= loadRoot();
  return cached;
}

const types = new Map<string, protobuf.Type>();

/** A message type by its full name (`envoy.config.cluster.v3.Cluster`); throws when it is not loaded. */
export function messageType(fullName: string): protobuf.Type {
  let type = types.get(fullName);
  if (type === undefined) {
    type = envoyRoot().lookupType(fullName);
    types.set(fullName, type);
  }
  return type;
}
