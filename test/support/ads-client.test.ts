import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adsProtos, DeltaClient, rawCall, SotwClient, type SotwResponse } from './ads-client.ts';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
/** A request of this type makes the fake server end the stream with INVALID_ARGUMENT. */
const DIE = 'die';

type Req = Record<string, unknown>;

function clusterAny(name: string): { type_url: string; value: Buffer } {
  const type = adsProtos().root.lookupType('envoy.config.cluster.v3.Cluster');
  return { type_url: CDS, value: Buffer.from(type.encode(type.fromObject({ name })).finish()) };
}

const namesOf = (req: Req, key: string): string[] => {
  const v = req[key];
  return Array.isArray(v) && v.length > 0 ? v.map(String) : ['c1'];
};

/**
 * An echo-style ADS server: it answers each request without a response_nonce with one response of the
 * requested type carrying a Cluster per requested name (or 'c1'), records every request, and never
 * answers an ACK or NACK.
 */
class FakeAdsServer {
  readonly requests: Req[] = [];
  address = '';
  private readonly server = new grpc.Server();
  private readonly arrivals: { count: number; resolve: () => void }[] = [];
  private nonce = 0;

  async start(): Promise<void> {
    this.server.addService(adsProtos().service, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Req, object>) => this.handle(call, (r) => this.sotw(r)),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<Req, object>) => this.handle(call, (r) => this.delta(r)),
    });
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.address = `127.0.0.1:${port}`;
  }

  /** Resolves once the server has received `count` requests in total. */
  async received(count: number): Promise<Req[]> {
    if (this.requests.length < count) await new Promise<void>((resolve) => this.arrivals.push({ count, resolve }));
    return this.requests;
  }

  stop(): void {
    this.server.forceShutdown();
  }

  private handle(call: grpc.ServerDuplexStream<Req, object>, answer: (r: Req) => object): void {
    call.on('data', (req: Req) => {
      this.requests.push(req);
      for (const a of this.arrivals.filter((x) => x.count <= this.requests.length)) {
        this.arrivals.splice(this.arrivals.indexOf(a), 1);
        a.resolve();
      }
      if (req['type_url'] === DIE) call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'told to die' });
      else if (!req['response_nonce']) call.write(answer(req));
    });
    call.on('end', () => call.end());
  }

  private sotw(req: Req): object {
    this.nonce += 1;
    const resources = namesOf(req, 'resource_names').map(clusterAny);
    return { version_info: 'v1', type_url: req['type_url'], nonce: `n${this.nonce}`, resources };
  }

  private delta(req: Req): object {
    this.nonce += 1;
    const names = namesOf(req, 'resource_names_subscribe');
    const resources = names.map((name) => ({ name, version: `rv-${name}`, resource: clusterAny(name) }));
    return {
      system_version_info: 'sv1',
      type_url: req['type_url'],
      nonce: `n${this.nonce}`,
      resources,
      removed_resources: ['gone'],
    };
  }
}

const server = new FakeAdsServer();
const open: { close(): void }[] = [];
beforeAll(() => server.start());
afterAll(() => server.stop());
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  server.requests.length = 0;
});

async function sotw(): Promise<SotwClient> {
  const c = await SotwClient.connect(server.address, {
    node: { id: 'n1', cluster: 'c', metadata: { k: 'v' }, locality: { zone: 'z' } },
  });
  open.push(c);
  return c;
}

describe('SotwClient', () => {
  it('subscribes, decodes the resources, and sends the node on the first request only', async () => {
    const c = await sotw();
    c.subscribe(CDS, ['a', 'b']);
    const res = await c.next(CDS);
    expect(res).toMatchObject({ versionInfo: 'v1', typeUrl: CDS, nonce: expect.stringMatching(/^n\d+$/) });
    expect(res.resources.map((r) => [r.name, r.typeUrl, r.body])).toEqual([
      ['a', CDS, { name: 'a' }],
      ['b', CDS, { name: 'b' }],
    ]);
    expect(c.received).toBe(1);
    expect(c.receivedBytes).toBeGreaterThan(0);
    c.subscribe(LDS);
    const [first, second] = await server.received(2);
    expect(first).toMatchObject({
      node: { id: 'n1', cluster: 'c', locality: { zone: 'z' }, metadata: { fields: { k: { stringValue: 'v' } } } },
      resource_names: ['a', 'b'],
      type_url: CDS,
    });
    expect(first?.['response_nonce']).toBeUndefined();
    expect(second?.['node']).toBeUndefined();
  });

  it('omits the node when told to', async () => {
    const c = await sotw();
    c.send({ typeUrl: CDS, omitNode: true });
    const [first] = await server.received(1);
    expect(first?.['node']).toBeUndefined();
  });

  it('ACKs with the version, nonce and last names; NACKs with the last ACKed version', async () => {
    const c = await sotw();
    c.subscribe(CDS, ['a']);
    const r1 = await c.next(CDS);
    c.ack(r1);
    await c.expectSilence(200, CDS);
    c.subscribe(CDS, ['a', 'b']);
    const r2 = await c.next(CDS);
    c.nack(r2, 'bad cluster');
    const reqs = await server.received(4);
    expect(reqs[1]).toMatchObject({ type_url: CDS, resource_names: ['a'], version_info: 'v1', response_nonce: r1.nonce });
    expect(reqs[1]?.['error_detail']).toBeUndefined();
    expect(reqs[3]).toMatchObject({
      resource_names: ['a', 'b'],
      version_info: 'v1',
      response_nonce: r2.nonce,
      error_detail: { code: 3, message: 'bad cluster' },
    });
  });

  it("NACKs with version '' when nothing was ACKed", async () => {
    const c = await sotw();
    c.subscribe(CDS);
    c.nack(await c.next(CDS), 'no');
    const reqs = await server.received(2);
    expect(reqs[1]?.['version_info'] ?? '').toBe('');
  });

  it('expectSilence rejects when a response arrives, without consuming it', async () => {
    const c = await sotw();
    c.subscribe(CDS, ['x']);
    await expect(c.expectSilence(5000)).rejects.toThrow(/expectSilence.*got a response: \{type .*Cluster.*resources \[x\]/);
    await expect(c.expectSilence(50)).rejects.toThrow(/already queued, unconsumed/);
    await c.expectSilence(50, LDS);
    expect((await c.next()).resources[0]?.name).toBe('x');
  });

  it('next filters by type and keeps the other responses queued in order', async () => {
    const c = await sotw();
    c.subscribe(CDS, ['a']);
    c.subscribe(LDS, ['l']);
    const l: SotwResponse = await c.next(LDS);
    expect(l.typeUrl).toBe(LDS);
    expect((await c.next()).typeUrl).toBe(CDS);
  });

  it('next times out with a message that says what was awaited', async () => {
    const c = await sotw();
    await expect(c.next(LDS, 100)).rejects.toThrow(
      /^SotwClient\.next\(type\.googleapis\.com\/envoy\.config\.listener\.v3\.Listener\): no response within 100 ms \(0 received so far; queued, unconsumed: none\)$/,
    );
  });

  it('reports the end of the stream to next() and closed()', async () => {
    const c = await sotw();
    const pending = c.next(CDS);
    c.send({ typeUrl: DIE });
    await expect(pending).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'told to die' });
    await expect(c.next()).rejects.toThrow(/status 3 \(INVALID_ARGUMENT\): told to die/);
    expect(await c.closed()).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'told to die' });
  });

  it('pause stops delivery until resume', async () => {
    const c = await sotw();
    c.pause();
    c.subscribe(CDS, ['p']);
    await server.received(1);
    await c.expectSilence(200);
    expect(c.received).toBe(0);
    c.resume();
    expect((await c.next(CDS)).resources[0]?.name).toBe('p');
  });

  it('close cancels the call and rejects pending waits', async () => {
    const c = await sotw();
    const pending = c.next(CDS);
    c.close();
    await expect(pending).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    expect((await c.closed()).code).toBe(grpc.status.CANCELLED);
    expect(() => c.subscribe(CDS)).toThrow(/after close/);
  });
});

describe('DeltaClient', () => {
  it('subscribes, decodes names and versions from the wrapper, ACKs and NACKs with the nonce only', async () => {
    const c = await DeltaClient.connect(server.address, { node: { id: 'd1' } });
    open.push(c);
    c.subscribe(CDS, ['c1', 'c2']);
    const res = await c.next(CDS);
    expect(res).toMatchObject({ systemVersionInfo: 'sv1', typeUrl: CDS, removed: ['gone'] });
    expect(res.resources.map((r) => [r.name, r.version, r.body['name']])).toEqual([
      ['c1', 'rv-c1', 'c1'],
      ['c2', 'rv-c2', 'c2'],
    ]);
    c.ack(res);
    await c.expectSilence(200);
    c.nack(res, 'nope');
    const reqs = await server.received(3);
    expect(reqs[0]).toMatchObject({ node: { id: 'd1' }, resource_names_subscribe: ['c1', 'c2'], type_url: CDS });
    expect(reqs[1]).toEqual({ type_url: CDS, response_nonce: res.nonce });
    expect(reqs[2]).toEqual({ type_url: CDS, response_nonce: res.nonce, error_detail: { code: 3, message: 'nope' } });
  });

  it('sends initial versions and unsubscribes', async () => {
    const c = await DeltaClient.connect(server.address);
    open.push(c);
    c.send({ typeUrl: CDS, subscribe: ['*'], unsubscribe: ['old'], initialResourceVersions: { a: 'v9' } });
    const [first] = await server.received(1);
    expect(first).toMatchObject({
      node: { id: 'ads-test-client' },
      resource_names_subscribe: ['*'],
      resource_names_unsubscribe: ['old'],
      initial_resource_versions: { a: 'v9' },
    });
  });
});

describe('rawCall', () => {
  it('sends garbage bytes and reports the non-OK status', async () => {
    const raw = rawCall(server.address, 'StreamAggregatedResources');
    open.push(raw);
    raw.call.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const status = await raw.closed;
    expect(status.code).not.toBe(grpc.status.OK);
  });
});
