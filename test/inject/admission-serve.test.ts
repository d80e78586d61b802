/**
 * `trellis serve` with --webhook-address and --webhook-cert-dir: the webhook answers beside xDS and
 * the debug endpoint, whose index lists it; a certificate directory that does not load stops the start
 * with a line naming it.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { runServe, type ServeHandle } from '../../src/pipeline/serve.ts';
import { makeCa, mountSecret, post } from './admission-support.ts';

let dir: string;
let ca: Awaited<ReturnType<typeof makeCa>>;
let handle: ServeHandle;

const REVIEW = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'c0ffee00-0000-4000-8000-000000000001',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    object: { spec: { containers: [{ name: 'app' }] } },
  },
};

const flags = (certDir: string, manifests: string) => ({
  manifests,
  'xds-address': '127.0.0.1:0',
  'debug-address': '127.0.0.1:0',
  'webhook-address': '127.0.0.1:0',
  'webhook-cert-dir': certDir,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-admission-serve-'));
  await mkdir(join(dir, 'mesh'));
  ca = await makeCa(dir);
  const pair = await ca.issue();
  await mountSecret(join(dir, 'certs'), { 'tls.crt': pair.cert, 'tls.key': pair.key });
  handle = await runServe(loadServeConfig(flags(join(dir, 'certs'), join(dir, 'mesh')), {}), pino({ level: 'silent' }));
});

afterAll(async () => {
  await handle?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('trellis serve with the injection webhook', () => {
  it('answers reviews on its own port', async () => {
    expect(handle.running.webhookPort).toBeGreaterThan(0);
    const answer = await post(`https://127.0.0.1:${handle.running.webhookPort}/inject`, ca.caPem, JSON.stringify(REVIEW));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ response: { uid: REVIEW.request.uid, allowed: true, patchType: 'JSONPatch' } });
  });

  it('is listed on the index of /debug, text and JSON', async () => {
    const base = `http://127.0.0.1:${handle.running.debugPort}/debug`;
    const line = `admission webhook: https://127.0.0.1:${handle.running.webhookPort}/inject (certificate CN=127.0.0.1, expires`;
    expect(await (await fetch(base)).text()).toContain(line);
    const body = (await (await fetch(`${base}?format=json`)).json()) as { servers?: string[] };
    expect(body.servers).toEqual([expect.stringContaining(line)]);
  });

  it('does not start when the certificate directory does not load, naming it', async () => {
    const missing = join(dir, 'nowhere');
    await expect(runServe(loadServeConfig(flags(missing, join(dir, 'mesh')), {}), pino({ level: 'silent' }))).rejects.toThrow(
      `the webhook certificate in ${missing} does not load: ENOENT`,
    );
  });
});
