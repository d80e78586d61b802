/**
 * A sidecar scoped by its pod's `trellis.dev/reachable-services`, end to end on a manifests
 * directory edited live: the proxy receives the clusters of what its pod reaches, a wider reach
 * adds clusters and a narrower one removes them on the open stream (delta), and a reach that does
 * not parse is an error on the Pod, logged and on /debug/configz, while the sidecar gets everything.
 * A reach naming a Service that does not exist is a warning on the Pod (log, /debug/configz,
 * `trellis validate`) until the Service comes. /debug/syncz shows each sidecar's reach.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { TypeUrl } from '../../src/envoy/types.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import { DeltaClient, type DeltaResponse } from '../support/ads-client.ts';
import { trellis as cli } from '../support/cli.ts';
import { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { manifestDirPerTest } from '../support/manifest-dir.ts';

const service = (name: string, ip: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { clusterIP: ${ip}, ports: [{ name: http, port: 80 }] }\n`;
const client = (reach: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: { name: client, namespace: shop, annotations: { trellis.dev/reachable-services: ${JSON.stringify(reach)} } }\n` +
  'spec: { containers: [{ name: app }] }\nstatus: { podIP: 10.1.0.9 }\n';

const { dir, put } = manifestDirPerTest('trellis-reach-');
let trellis: RunningTrellis | undefined;
let ads: DeltaClient | undefined;

afterEach(async () => {
  ads?.close();
  ads = undefined;
  await trellis?.close();
  trellis = undefined;
});

/** The outbound clusters a delta stream holds, kept up to date from each response (ACKed, as a proxy does). */
class Held {
  readonly names = new Set<string>();

  constructor(private readonly c: DeltaClient) {}

  /** Reads responses until the outbound clusters held are exactly `expected`. */
  async until(expected: string[]): Promise<void> {
    while (!this.is(expected)) {
      const res: DeltaResponse = await this.c.next();
      this.c.ack(res);
      if (res.typeUrl !== TypeUrl.cluster) continue;
      for (const r of res.resources) this.names.add(r.name);
      for (const n of res.removed) this.names.delete(n);
    }
  }

  private is(expected: string[]): boolean {
    return JSON.stringify([...this.names].filter((n) => n.startsWith('outbound|')).sort()) === JSON.stringify(expected);
  }
}

const WEB = 'outbound|80||web.shop.svc.cluster.local';
const API = 'outbound|80||api.shop.svc.cluster.local';
const DB = 'outbound|80||db.shop.svc.cluster.local';
const BILLING = 'outbound|80||billing.shop.svc.cluster.local';

/** Trellis on the directory, and the pod's sidecar on a delta stream subscribed to every cluster. */
async function start(): Promise<{ logs: Logs; held: Held; configz: () => Promise<string>; reach: () => Promise<unknown> }> {
  const logs = new Logs();
  const running = await serve(
    loadServeConfig({ manifests: dir(), 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' }, {}),
    createLogger('info', { write: logs.write }),
    startManifestSource(dir(), createLogger('fatal')),
  );
  trellis = running;
  ads = await DeltaClient.connect(`127.0.0.1:${running.xdsPort}`, { node: { id: 'client.shop' } });
  ads.subscribe(TypeUrl.cluster, ['*']);
  const configz = async (): Promise<string> => (await fetch(`http://127.0.0.1:${running.debugPort}/debug/configz?format=text`)).text();
  /** The sidecar's scope as /debug/syncz shows it (absent: every Service). */
  const reach = async (): Promise<unknown> => {
    const body = (await (await fetch(`http://127.0.0.1:${running.debugPort}/debug/syncz?proxy=client.shop`)).json()) as { proxies: { reach?: unknown }[] };
    return body.proxies[0]?.reach;
  };
  return { logs, held: new Held(ads), configz, reach };
}

describe('a sidecar scoped by its pod', () => {
  it('holds what its pod reaches, follows the annotation as it changes, and falls back to everything on a bad one', async () => {
    await put('services.yaml', [service('web', '10.0.0.1'), service('api', '10.0.0.2'), service('db', '10.0.0.3')].join('---\n'));
    await put('client.yaml', client('./web'));
    const { logs, held, configz, reach } = await start();
    await held.until([WEB]);
    expect(await reach()).toEqual(['shop/web']);

    await put('client.yaml', client('./web, shop/api'));
    await held.until([API, WEB]);
    await put('client.yaml', client('./api'));
    await held.until([API]);

    await put('client.yaml', client('./api, Shop/db'));
    await held.until([API, DB, WEB]);
    const error =
      /^client\.yaml#1:\d+:\d+ Pod shop\/client: metadata\.annotations\["trellis\.dev\/reachable-services"\]: entry "Shop\/db": the namespace must be a DNS-1123 label .*: the sidecar is not scoped and reaches every service$/;
    expect(logs.lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([expect.stringMatching(error)]);
    expect(await configz()).toContain('entry "Shop/db"');
    // /debug/syncz is served from a cache for up to a second: asked again until it shows the new model.
    await pollFor('/debug/syncz to show the sidecar unscoped', reach, (r) => r === undefined);
  });

  it('is warned about a Service its reach names that does not exist, until it does', async () => {
    await put('services.yaml', [service('web', '10.0.0.1'), service('api', '10.0.0.2')].join('---\n'));
    await put('client.yaml', client('./api, ./billing'));
    const { logs, held, configz, reach } = await start();
    await held.until([API]);
    expect(await reach()).toEqual(['shop/api', 'shop/billing']);
    const table = await (await fetch(`http://127.0.0.1:${trellis?.debugPort ?? 0}/debug/syncz?format=text&proxy=client.shop`)).text();
    expect(table).toContain('scoped by their pods (trellis.dev/reachable-services)');
    expect(table).toContain('  client.shop: shop/api, shop/billing');
    const warning =
      /^client\.yaml#1:\d+:\d+ Pod shop\/client: metadata\.annotations\["trellis\.dev\/reachable-services"\]: names Service shop\/billing, which does not exist: the sidecar gets nothing for it until it does/;
    expect(logs.lines.filter((l) => l.level === 40).map((l) => l.msg)).toContainEqual(expect.stringMatching(warning));
    expect(await configz()).toContain('names Service shop/billing, which does not exist');
    const validate = await cli('validate', '--manifests', dir());
    expect(validate.stdout).toMatch(
      /warning: client\.yaml#1:\d+:\d+ Pod shop\/client: metadata\.annotations\["trellis\.dev\/reachable-services"\]: names Service shop\/billing/,
    );

    await put('billing.yaml', service('billing', '10.0.0.4'));
    await held.until([API, BILLING]);
    expect(await configz()).not.toContain('does not exist');
  });
});
