/**
 * The manifests directory removed and recreated (git checkout, `rm -rf && cp`): noticed, watched
 * again and said so; meanwhile the last good state serves, and /debug/configz, the
 * trellis_source_connected metric and /readyz say why.
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource, type WatchStatus } from '../../src/sources/manifests/index.ts';
import { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { Events, service, services, WatchedDir } from './manifests-support.ts';

describe('the manifests directory removed and recreated', { timeout: 20_000 }, () => {
  let d: WatchedDir;
  let mesh: string;
  const statuses = new Events<WatchStatus & { services: string[] }>();
  beforeEach(async () => {
    d = await WatchedDir.create();
    mesh = d.path('mesh');
    await mkdir(mesh);
    await writeFile(d.path('mesh', 'web.yaml'), service('web', 80));
  });
  afterEach(async () => d.close());

  // The settle window serve uses: `rm -rf` takes the files before the directory, and the guard holds
  // back the removal of every Service until the directory is seen missing.
  const start = () =>
    d.start(mesh, {
      settleMs: 300,
      onChange: (result, files, status) => {
        d.changes.push(result);
        statuses.push({ ...status, services: services(result) });
      },
    });

  it('serves the last good state while it is missing, then watches the new one and says so', async () => {
    await start();
    const lost = statuses.until((s) => !s.connected);
    await rm(mesh, { recursive: true });
    expect(await lost).toEqual({ connected: false, reason: `manifests directory ${mesh} is missing`, services: ['web:80@web.yaml'] });

    const back = statuses.until((s) => s.connected && s.services.join() === 'web:81@web.yaml');
    const logged = d.logs.until((l) => l.msg === 'manifests directory is back; watching it again');
    await mkdir(mesh);
    await writeFile(d.path('mesh', 'web.yaml'), service('web', 81));
    await back;
    await logged;
    // Watched again: an edit afterwards, and a file in a new subdirectory, are served.
    let next = d.servicesBecome(['web:82@web.yaml']);
    await writeFile(d.path('mesh', 'web.yaml'), service('web', 82));
    await next;
    next = d.servicesBecome(['api:90@sub/api.yaml', 'web:82@web.yaml']);
    await mkdir(d.path('mesh', 'sub'));
    await writeFile(d.path('mesh', 'sub', 'api.yaml'), service('api', 90));
    await next;
  });

  it('notices a directory swapped at once (rm -rf && cp) and watches the new one', async () => {
    await mkdir(d.path('staging'));
    await writeFile(d.path('staging', 'web.yaml'), service('web', 81));
    await start();
    let next = d.servicesBecome(['web:81@web.yaml']);
    await rm(mesh, { recursive: true });
    await cp(d.path('staging'), mesh, { recursive: true });
    await next;
    for (const port of [82, 83]) {
      next = d.servicesBecome([`web:${port}@web.yaml`]);
      await writeFile(d.path('mesh', 'web.yaml'), service('web', port));
      await next;
    }
  });

  it('says so in /debug/configz, the metric and /readyz while serving, and stops saying it once back', async () => {
    const logs = new Logs();
    const logger = createLogger('info', { write: logs.write });
    const flags = { manifests: mesh, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0', 'debounce-min': '10', 'debounce-max': '100' };
    let trellis: RunningTrellis | undefined = await serve(loadServeConfig(flags, {}), logger, startManifestSource(mesh, logger));
    try {
      const base = `http://127.0.0.1:${trellis.debugPort}`;
      const look = async () => {
        const readyz = await fetch(`${base}/readyz`);
        const configz = await (await fetch(`${base}/debug/configz?format=text`)).text();
        const metric = /^trellis_source_connected (\d)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];
        return { readyz: [readyz.status, await readyz.text()], configz, metric };
      };
      expect(await look()).toMatchObject({ readyz: [200, 'ready\n'], metric: '1' });

      const reason = `source disconnected, serving the last known state: manifests directory ${mesh} is missing`;
      await rm(mesh, { recursive: true });
      await logs.until('the directory missing', (lines) => lines.some((l) => l.msg.startsWith('cannot read the manifests directory')));
      // /metrics is a heavy view, cached for a second: ask until the metric has caught up.
      const missing = await pollFor('trellis_source_connected 0', look, (v) => v.metric === '0');
      expect(missing).toMatchObject({ readyz: [200, `ready; ${reason}\n`], metric: '0' });
      expect(missing.configz).toContain(`warning: ${reason}`);
      expect(trellis.cache.ready).toBe(true);

      await mkdir(mesh);
      await writeFile(d.path('mesh', 'web.yaml'), service('web', 80));
      await logs.until('the directory back', (lines) => lines.some((l) => l.msg === 'manifests directory is back; watching it again'));
      const back = await pollFor('trellis_source_connected 1', look, (v) => v.metric === '1');
      expect(back).toMatchObject({ readyz: [200, 'ready\n'], metric: '1' });
      expect(back.configz).not.toContain(reason);
    } finally {
      await trellis.close();
      trellis = undefined;
    }
  });
});
