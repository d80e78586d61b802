/**
 * A bidirectional-streaming gRPC method whose messages are raw bytes: for servers and clients that
 * read and write buffers themselves (the benchmark's floor, the grpc-js internals tests).
 */
import type * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export function rawStreamingMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
