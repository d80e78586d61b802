/** The demo's gRPC service (demo.proto), loaded for the servers and the clients alike. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const DEMO_PROTO = join(dirname(fileURLToPath(import.meta.url)), 'demo.proto');
/** Metadata: the call's key, kept by retries (gRPC resends a call's metadata with each attempt). */
export const CALL_ID = 'x-call-id';
/** Metadata: `1` makes the server fail the first attempt of the call with UNAVAILABLE. */
export const FAIL_FIRST = 'x-fail-first';

export interface CallRequest {
  from: string;
}
export interface CallReply {
  pod: string;
  version: string;
  attempt: number;
}

/** The Shop service's client constructor (and its `.service` definition for servers). */
export function shopService(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(DEMO_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def).trellis as grpc.GrpcObject;
  return (pkg.demo as grpc.GrpcObject).Shop as grpc.ServiceClientConstructor;
}
