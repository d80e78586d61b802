/**
 * A workaround for memory that grpc-js 1.14 keeps per stream: its server-side StreamDecoder holds
 * on to the slices of the last message it assembled (and a one-byte slice pinning the chunk the
 * message's first byte came in) until the next message starts. For an ADS server that is most of a
 * proxy's last request kept alive for as long as the stream lives: a state-of-the-world EDS ACK
 * names every cluster, about 50 KB for 1000 clusters, so about 50 KB per connected proxy (measured
 * with `npm run bench`: server RSS per proxy 100–119 KB with it, about 73 KB without).
 *
 * The interceptor below, after each message is handed on, drops those references when the decoder
 * is between messages (its state is NO_DATA: the next byte it reads re-initialises both fields
 * anyway, so nothing it still needs is touched). It reaches into grpc-js's private fields, so it is
 * guarded: when the call or the decoder does not have the expected shape it does nothing, and
 * test/xds/grpc-memory.test.ts fails if, with the installed grpc-js, it no longer releases anything
 * (the cue to drop it, or to adapt it, when grpc-js changes). For the same reason package.json pins
 * @grpc/grpc-js to one exact version, not a range: a fresh install must not bring in internals this
 * module has not been tested against; an upgrade is a deliberate change that runs that test
 * (test/package.test.ts checks the pin). Unpin when this module goes.
 */
import * as grpc from '@grpc/grpc-js';

/** The private fields of grpc-js's StreamDecoder the workaround touches. */
interface DecoderFields {
  readState: unknown;
  readPartialMessage: unknown;
  readCompressFlag: unknown;
}

/** StreamDecoder's ReadState.NO_DATA: between messages. */
const NO_DATA = 0;

function decoderOf(call: unknown): DecoderFields | undefined {
  const decoder = (call as { decoder?: unknown }).decoder;
  if (typeof decoder !== 'object' || decoder === null) return undefined;
  const d = decoder as Partial<DecoderFields>;
  return Array.isArray(d.readPartialMessage) && Buffer.isBuffer(d.readCompressFlag) && typeof d.readState === 'number' ? (d as DecoderFields) : undefined;
}

/** Drops what the decoder keeps of the last message, if it is between messages. True when it released something. */
export function releaseLastMessage(call: unknown): boolean {
  const decoder = decoderOf(call);
  if (!decoder || decoder.readState !== NO_DATA || (decoder.readPartialMessage as unknown[]).length === 0) return false;
  decoder.readPartialMessage = [];
  decoder.readCompressFlag = Buffer.alloc(1);
  return true;
}

/**
 * A server interceptor that releases each received message's buffers once the message is handed
 * on, for the methods named (all when none are): it costs a layer per message, worth it only where
 * requests are large (state-of-the-world ACKs name every resource; delta ACKs name none).
 */
export function releaseReceivedMessages(...paths: readonly string[]): grpc.ServerInterceptor {
  return (method, call) => (paths.length === 0 || paths.includes(method.path) ? releasing(call) : (call as grpc.ServerInterceptingCall));
}

function releasing(call: grpc.ServerInterceptingCallInterface): grpc.ServerInterceptingCall {
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message, nextMessage) => {
          nextMessage(message);
          releaseLastMessage(call);
        },
      }),
  });
}
