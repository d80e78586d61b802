/**
 * A response written as a shared body and a stream's nonce (NoncedResponse, src/xds/wire.ts): its
 * bytes, and the installed grpc-js framing it by copying it once into the frame. If grpc-js frames
 * responses otherwise, the second test fails: NoncedResponse must then become a Buffer again.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { messageType } from '../../src/envoy/protos.ts';
import { adsServiceDefinition, encodeSotwResponse, NoncedResponse } from '../../src/xds/wire.ts';
import { rawStreamingMethod } from '../support/raw-method.ts';

const SOTW = adsServiceDefinition.StreamAggregatedResources;

function decoded(bytes: Uint8Array): Record<string, unknown> {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return type.toObject(type.decode(bytes), { defaults: false });
}

const body = encodeSotwResponse({ version_info: 'v1', resources: [Buffer.from([10, 1, 97])], type_url: 'type.googleapis.com/x' });

describe('NoncedResponse', () => {
  it('is the body with the nonce field after it, as one Buffer or copied into another at an offset', () => {
    const res = new NoncedResponse(body, 'abc.7');
    const whole = res.toBuffer();
    expect(whole.length).toBe(res.byteLength);
    expect(decoded(whole)).toMatchObject({ version_info: 'v1', type_url: 'type.googleapis.com/x', nonce: 'abc.7' });
    const framed = Buffer.alloc(res.byteLength + 5, 0xee);
    expect(res.copy(framed, 5)).toBe(res.byteLength);
    expect(framed.subarray(0, 5)).toEqual(Buffer.alloc(5, 0xee));
    expect(framed.subarray(5)).toEqual(whole);
  });

  let server: grpc.Server | undefined;
  let client: grpc.Client | undefined;
  afterEach(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('reaches a client through grpc-js as those bytes, written at once or queued behind another', async () => {
    if (!SOTW) throw new Error('no StreamAggregatedResources in the ADS definition');
    server = new grpc.Server();
    const sent = [new NoncedResponse(body, 'n.1'), new NoncedResponse(body, 'n.2'), new NoncedResponse(body, 'n.3')];
    server.addService(
      { StreamAggregatedResources: SOTW },
      {
        StreamAggregatedResources: (call: grpc.ServerDuplexStream<unknown, NoncedResponse>) =>
          call.once('data', () => {
            // Written in one turn: the later ones wait in the stream's buffer, as they are.
            for (const r of sent) call.write(r);
          }),
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const Client = grpc.makeGenericClientConstructor({ chat: rawStreamingMethod(SOTW.path) }, 'Ads');
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stream = (client as unknown as { chat(): grpc.ClientDuplexStream<Buffer, Buffer> }).chat();
    stream.on('error', () => undefined);
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      stream.on('data', (b: Buffer) => {
        received.push(b);
        if (received.length === sent.length) resolve();
      }),
    );
    stream.write(Buffer.alloc(0));
    await all;
    expect(received).toEqual(sent.map((r) => r.toBuffer()));
    expect(received.map((b) => decoded(b).nonce)).toEqual(['n.1', 'n.2', 'n.3']);
  });
});
