/**
 * A test server per test (vitest hooks) holding cluster `a`, from Service shop/web, and route r1, from that
 * Service and TrafficPolicy shop/web; the ADS clients connected through it are closed after each test.
 */
import { afterEach, beforeEach } from 'vitest';
import { DeltaClient, SotwClient } from '../support/ads-client.ts';
import { ref } from '../support/diagnostics.ts';
import { cluster, route } from '../support/resources.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';

export const POLICY = 'TrafficPolicy shop/web';

export interface PolicyRouteServer {
  /** The running test's server. */
  readonly t: TestServer;
  /** Publishes cluster a and route r1 with this timeout (a new version of both for each new value). */
  readonly publish: (timeoutSeconds: number) => void;
  readonly sotw: (id: string) => Promise<SotwClient>;
  readonly delta: (id: string) => Promise<DeltaClient>;
}

export function policyRouteServer(): PolicyRouteServer {
  let current: TestServer | undefined;
  const clients: { close(): void }[] = [];
  beforeEach(async () => {
    current = await startTestServer();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await current?.close();
  });
  const server = (): TestServer => {
    if (!current) throw new Error('policyRouteServer: used outside a test');
    return current;
  };
  const tracked = <C extends { close(): void }>(c: C): C => {
    clients.push(c);
    return c;
  };
  return {
    get t() {
      return server();
    },
    publish: (timeoutSeconds) => {
      const t = server();
      t.cache.set('default', {
        cluster: [cluster('a', timeoutSeconds)],
        route: [{ ...route('r1', 'a', `r1-${timeoutSeconds}`), sources: [ref('Service shop/web'), ref(POLICY)] }],
      });
      t.cache.markReady();
    },
    sotw: async (id) => tracked(await SotwClient.connect(server().address, { node: { id } })),
    delta: async (id) => tracked(await DeltaClient.connect(server().address, { node: { id } })),
  };
}
