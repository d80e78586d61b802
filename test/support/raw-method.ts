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

/** Calls `drop` once a server call is gone (error, cancel, close), and ends the call when the client ends it. */
export function whenGone(call: grpc.ServerDuplexStream<Buffer, Buffer>, drop: () => void): void {
  call.on('error', drop);
  call.on('cancelled', drop);
  call.on('close', drop);
  call.on('end', () => {
    drop();
    call.end();
  });
}
