/**
 * The grpc-js memory workaround (src/xds/grpc-memory.ts) against the installed grpc-js: without it,
 * the server's stream decoder keeps the last large message's buffers; with it, they are released
 * once the message is handed on. If grpc-js changes its internals, the first test says so.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseReceivedMessages } from '../../src/xds/grpc-memory.ts';
import { rawStreamingMethod } from '../support/raw-method.ts';

const CHAT: grpc.ServiceDefinition = { chat: rawStreamingMethod('/test.Echo/Chat') };

interface Decoder {
  readState: number;
  readPartialMessage: Buffer[];
}

let server: grpc.Server | undefined;
let client: grpc.Client | undefined;

afterEach(() => {
  client?.close();
  server?.forceShutdown();
});

/** Starts a server (with `interceptors` after one that captures the innermost call), sends one 50 KB message; returns the decoder once the handler has it. */
async function decoderAfterOneMessage(interceptors: grpc.ServerInterceptor[]): Promise<Decoder> {
  let base: unknown;
  const capture: grpc.ServerInterceptor = (_m, call) => {
    base = call;
    return call as grpc.ServerInterceptingCall;
  };
  server = new grpc.Server({ interceptors: [capture, ...interceptors] });
  const received = new Promise<void>((resolve) => {
    server?.addService(CHAT, {
      chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.on('data', () => setImmediate(resolve)),
    });
  });
  const port = await new Promise<number>((resolve, reject) =>
    server?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const Client = grpc.makeGenericClientConstructor(CHAT, 'Echo');
  client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stream = (client as unknown as { chat(): grpc.ClientDuplexStream<Buffer, Buffer> }).chat();
  stream.on('error', () => undefined);
  stream.write(Buffer.alloc(50_000, 7));
  await received;
  return (base as { decoder: Decoder }).decoder;
}

describe('releasing what grpc-js keeps of the last received message', () => {
  it('grpc-js still keeps it without the workaround (else the workaround is obsolete: drop it)', async () => {
    const decoder = await decoderAfterOneMessage([]);
    expect(decoder.readState).toBe(0);
    expect(decoder.readPartialMessage.reduce((n, b) => n + b.length, 0)).toBe(50_000);
  });

  it('is kept for the methods not named', async () => {
    const decoder = await decoderAfterOneMessage([releaseReceivedMessages('/other.Service/Method')]);
    expect(decoder.readPartialMessage).not.toEqual([]);
  });

  it('is released once the message has been handed on', async () => {
    const decoder = await decoderAfterOneMessage([releaseReceivedMessages()]);
    expect(decoder.readPartialMessage).toEqual([]);
  });
});
