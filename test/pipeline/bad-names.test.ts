/**
 * One bad object never blocks another, end to end: a Service whose name Kubernetes would refuse
 * (`bad\nname`) beside good ones on port 80, then a good Service added on the same port. The bad one
 * is an error on itself; the good ones, the later one included, reach a proxy over ADS with their
 * routes and clusters. (Before names were validated, the bad name went into the domains of route
 * configuration 80, which Envoy's rules refuse as a whole, so no Service on port 80 got routes again.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { TypeUrl } from '../../src/envoy/types.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import { DeltaClient, type DeltaResponse } from '../support/ads-client.ts';
import { Logs } from '../support/logs.ts';
import { manifestDirPerTest } from '../support/manifest-dir.ts';

const service = (name: string, ip: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${JSON.stringify(name)}, namespace: shop }\nspec: { clusterIP: ${ip}, ports: [{ name: http, port: 80 }] }\n`;
const client = 'apiVersion: v1\nkind: Pod\nmetadata: { name: client, namespace: shop }\nspec: { containers: [{ name: app }] }\nstatus: { podIP: 10.1.0.9 }\n';

const { dir, put } = manifestDirPerTest('trellis-names-');
let trellis: RunningTrellis | undefined;
let ads: DeltaClient | undefined;

afterEach(async () => {
  ads?.close();
  ads = undefined;
  await trellis?.close();
  trellis = undefined;
});

/** The virtual hosts of route configuration 80 in a response, by name. */
function hostsOf(res: DeltaResponse): string[] {
  const route = res.resources.find((r) => r.name === '80');
  const hosts = (route?.body.virtual_hosts ?? []) as { name: string }[];
  return hosts.map((h) => h.name).sort();
}

/** Reads responses of every type (ACKing each, as a proxy does) until one of `typeUrl` satisfies `done`. */
async function until(c: DeltaClient, typeUrl: string, done: (res: DeltaResponse) => boolean): Promise<DeltaResponse> {
  for (;;) {
    const res = await c.next();
    c.ack(res);
    if (res.typeUrl === typeUrl && done(res)) return res;
  }
}

describe('a Service with a name Kubernetes refuses', () => {
  it('is an error on itself, and a good Service added later on the same port reaches the proxy with its routes and clusters', async () => {
    await put('shop.yaml', [service('web', '10.0.0.1'), service('bad\nname', '10.0.0.2'), client].join('---\n'));
    const logs = new Logs();
    trellis = await serve(
      loadServeConfig({ manifests: dir(), 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '20', 'debounce-max': '200' }, {}),
      createLogger('info', { write: logs.write }),
      startManifestSource(dir(), createLogger('fatal')),
    );
    const errors = logs.lines.filter((l) => l.level === 50).map((l) => l.msg);
    expect(errors).toEqual([
      expect.stringMatching(/^shop\.yaml#2:\d+:\d+ Service shop\/bad\nname: metadata\.name: must be a DNS-1035 label .*, found "bad\\nname"$/),
    ]);

    ads = await DeltaClient.connect(`127.0.0.1:${trellis.xdsPort}`, { node: { id: 'client.shop' } });
    ads.subscribe(TypeUrl.cluster, ['*']);
    ads.subscribe(TypeUrl.route, ['80']);
    const first = await until(ads, TypeUrl.route, (r) => hostsOf(r).length > 0);
    expect(hostsOf(first).filter((h) => h.includes('shop'))).toEqual(['web.shop.svc.cluster.local:80']);

    await put('api.yaml', service('api', '10.0.0.3'));
    const routes = await until(ads, TypeUrl.route, (r) => hostsOf(r).some((h) => h.startsWith('api.')));
    expect(hostsOf(routes).filter((h) => h.includes('shop'))).toEqual(['api.shop.svc.cluster.local:80', 'web.shop.svc.cluster.local:80']);
    const clusters = trellis.cache.get('sidecar/shop/client')?.cluster.entries.keys();
    expect([...(clusters ?? [])].filter((n) => n.startsWith('outbound|80||'))).toEqual([
      'outbound|80||api.shop.svc.cluster.local',
      'outbound|80||web.shop.svc.cluster.local',
    ]);
  });
});
