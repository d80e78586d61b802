/** A change that would remove more than half of the mesh's Services or endpoints at once is held back for one more settle window, and logged. */
import { rename, rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestResult } from '../../src/sources/manifests/index.ts';
import { service, services, WatchedDir } from './manifests-support.ts';

const slice = (ips: string[]): string =>
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }\n` +
  `addressType: IPv4\nports: [{ name: http, port: 8080 }]\nendpoints: [${ips.map((ip) => `{ addresses: [${ip}] }`).join(', ')}]\n`;

const endpoints = (r: ManifestResult): number => r.inputs.endpointSlices.reduce((n, s) => n + s.object.endpoints.length, 0);
const HOLDING = 'a change would remove more than half of the Services or endpoints; holding it back for one more settle window';

describe('a change that removes most endpoints at once', { timeout: 20_000 }, () => {
  let d: WatchedDir;
  const order: string[] = [];
  beforeEach(async () => {
    d = await WatchedDir.create();
    order.length = 0;
    await writeFile(d.path('web.yaml'), slice(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']));
  });
  afterEach(async () => d.close());

  /** Replaces web.yaml by rename, so that the settle window does not apply to the file itself. */
  const put = async (ips: string[]): Promise<void> => {
    await writeFile(d.path('.web.tmp'), slice(ips));
    await rename(d.path('.web.tmp'), d.path('web.yaml'));
  };

  /** Starts the source, writing into `order` each change (as `change <count(result)>`) and the hold, when logged. */
  const start = async (count: (r: ManifestResult) => number): Promise<void> => {
    const onChange = (r: ManifestResult): void => {
      order.push(`change ${count(r)}`);
      d.changes.push(r);
    };
    await d.start(d.dir, { settleMs: 300, onChange });
    d.logs
      .until((l) => l.msg === HOLDING)
      .then(
        () => order.push('held'),
        () => undefined,
      );
  };

  it('takes a smaller removal at once; holds a larger one for one settle window, logged, then takes it', async () => {
    await start(endpoints);

    let next = d.changes.until((r) => endpoints(r) === 2);
    await put(['10.0.0.1', '10.0.0.2']); // half: not more than half
    await next;
    expect(order).toEqual(['change 2']);

    next = d.changes.until((r) => endpoints(r) === 0);
    await put([]);
    await next;
    expect(order).toEqual(['change 2', 'held', 'change 0']);
    expect(d.logged.find((l) => l.msg === HOLDING)).toMatchObject({ level: 40, before: { services: 0, endpoints: 2 }, after: { services: 0, endpoints: 0 } });
  });

  it('holds the removal of most Services too (rm -rf before the copy), taking a smaller one at once', async () => {
    await writeFile(d.path('a.yaml'), service('a', 80));
    await writeFile(d.path('bc.yaml'), `${service('b', 80)}---\n${service('c', 80)}`);
    await start((r) => services(r).length);
    let next = d.changes.until((r) => services(r).length === 2);
    await rm(d.path('a.yaml'));
    await next;
    next = d.changes.until((r) => services(r).length === 0);
    await rm(d.path('bc.yaml'));
    await next;
    expect(order).toEqual(['change 2', 'held', 'change 0']);
    expect(d.logged.find((l) => l.msg === HOLDING)).toMatchObject({ before: { services: 2 }, after: { services: 0 } });
  });
});
