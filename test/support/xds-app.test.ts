/**
 * Self-check for the xDS test harness (test/support/xds-app.ts) that needs no control plane.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import {
  DEFAULT_SERVER_LISTENER_TEMPLATE,
  XdsCallError,
  directSayHello,
  renderTestBootstrap,
  startGreeter,
  startXdsClient,
  startXdsServer,
} from './xds-app.js';
import { releasedLoopbackPort } from './ports.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.allSettled(cleanups.map((c) => c()));
});

describe('renderTestBootstrap', () => {
  it('renders a gRPC xDS bootstrap', () => {
    const b = renderTestBootstrap({
      xdsServer: '127.0.0.1:18000',
      nodeId: 'node-1',
      nodeMetadata: { namespace: 'default' },
      locality: { region: 'r1', zone: 'z1' },
    });
    expect(b).toEqual({
      xds_servers: [{ server_uri: '127.0.0.1:18000', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'node-1', cluster: 'test', metadata: { namespace: 'default' }, locality: { region: 'r1', zone: 'z1' } },
    });
    expect(b).not.toHaveProperty('server_listener_resource_name_template');
  });

  it('adds the server listener template only when given', () => {
    const b = renderTestBootstrap({ xdsServer: 'h:1', nodeId: 'n', serverListenerTemplate: DEFAULT_SERVER_LISTENER_TEMPLATE });
    expect(b).toMatchObject({
      server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
      node: { id: 'n', cluster: 'test', metadata: {}, locality: {} },
    });
  });
});

describe('startGreeter', () => {
  it('answers a direct gRPC call with name:hello and counts calls', async () => {
    const g = await startGreeter('alpha');
    cleanups.push(() => g.close());
    expect(g.address).toBe(`127.0.0.1:${g.port}`);
    expect(await directSayHello(g.address)).toBe('alpha:hello');
    expect(await directSayHello(g.address, 'bob')).toBe('alpha:bob');
    expect(g.calls()).toBe(2);
    await g.close();
    await expect(directSayHello(g.address, 'x', 1000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('startXdsClient', () => {
  it('fails calls with a gRPC error when no xDS server listens, and exits on close', async () => {
    const port = await releasedLoopbackPort();
    const client = await startXdsClient({
      xdsServer: `127.0.0.1:${port}`,
      nodeId: 'self-check-client',
      locality: { region: 'r1', zone: 'z1' },
      target: 'xds:///greeter.default.svc.cluster.local:50051',
    });
    cleanups.push(() => client.close());
    expect(isAlive(client.pid)).toBe(true);

    const err = await client.call({ deadlineMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(XdsCallError);
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain((err as XdsCallError).code);

    const tally = await client.callMany(3, { deadlineMs: 200, concurrency: 3 });
    expect(tally.ok).toEqual({});
    expect(Object.values(tally.errors).reduce((a, b) => a + b, 0)).toBe(3);
    expect(Object.keys(tally.errors).join('\n')).not.toMatch(/after \d/); // elapsed time stripped

    await expect(client.callUntilOk(600)).rejects.toThrow(/callUntilOk: no successful call within 600 ms/);

    await client.close();
    expect(isAlive(client.pid)).toBe(false);
    await expect(client.call()).rejects.toThrow(/exited/);
  });

  it('reports the child stderr when the child fails to start', async () => {
    // The xDS client reads its bootstrap lazily (on first resolution), so use the server child,
    // whose XdsServer constructor throws at once without server_listener_resource_name_template.
    await expect(startXdsServer({ xdsServer: '', nodeId: 'bad', name: 'bad', serverListenerTemplate: '' })).rejects.toThrow(
      /child exited before it was ready[\s\S]*stderr/,
    );
  });

  it('does not leave an orphan when the parent side kills it', async () => {
    const port = await releasedLoopbackPort();
    const client = await startXdsClient({ xdsServer: `127.0.0.1:${port}`, nodeId: 'self-check-kill', target: 'xds:///x.example:1' });
    await client.kill();
    expect(isAlive(client.pid)).toBe(false);
  });
});

describe('startXdsServer', () => {
  it('reports its port and listener name, and is not serving without a control plane', async () => {
    const port = await releasedLoopbackPort();
    const server = await startXdsServer({ xdsServer: `127.0.0.1:${port}`, nodeId: 'self-check-server', name: 'beta' });
    cleanups.push(() => server.close());
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.listenerName).toBe(`grpc/server?xds.resource.listening_address=127.0.0.1:${server.port}`);
    const st = await server.status();
    expect(st.serving.code).not.toBe(status.OK);
    await expect(server.waitServing(300)).rejects.toThrow(/not serving after 300 ms/);
    await server.close();
    expect(isAlive(server.pid)).toBe(false);
  });
});
