/** A change that would remove more than half of the mesh's endpoints at once is held back for one more settle window, and logged. */
import { rename, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestResult } from '../../src/sources/manifests/index.ts';
import { WatchedDir } from './manifests-support.ts';

const slice = (ips: string[]): string =>
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }\n` +
  `addressType: IPv4\nports: [{ name: http, port: 8080 }]\nendpoints: [${ips.map((ip) => `{ addresses: [${ip}] }`).join(', ')}]\n`;

const endpoints = (r: ManifestResult): number => r.inputs.endpointSlices.reduce((n, s) => n + s.object.endpoints.length, 0);
const HOLDING = 'a change would remove more than half of the endpoints; holding it back for one more settle window';

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

  it('takes a smaller removal at once; holds a larger one for one settle window, logged, then takes it', async () => {
    const onChange = (r: ManifestResult): void => {
      order.push(`change ${endpoints(r)}`);
      d.changes.push(r);
    };
    await d.start(d.dir, { settleMs: 300, onChange });
    d.logs
      .until((l) => l.msg === HOLDING)
      .then(
        () => order.push('held'),
        () => undefined,
      );

    let next = d.changes.until((r) => endpoints(r) === 2);
    await put(['10.0.0.1', '10.0.0.2']); // half: not more than half
    await next;
    expect(order).toEqual(['change 2']);

    next = d.changes.until((r) => endpoints(r) === 0);
    await put([]);
    await next;
    expect(order).toEqual(['change 2', 'held', 'change 0']);
    expect(d.logged.find((l) => l.msg === HOLDING)).toMatchObject({ level: 40, before: 2, after: 0 });
  });
});
