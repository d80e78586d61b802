/**
 * `trellis serve` with --webhook-address and --webhook-cert-dir: the webhook answers beside xDS and
 * the debug endpoint, whose index lists it and what it injects; the injection flags (images, the
 * address sidecars reach Trellis at, native sidecars, resources) are what its patches carry; a
 * certificate directory that does not load stops the start with a line naming it. (On a real API
 * server, with --native-sidecars auto: admission-envtest.test.ts.)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonpatch, { type Operation } from 'fast-json-patch';
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
  'proxy-image': 'registry.example.com/mesh/envoy:v1.34.1-patched',
  'trellis-image': 'registry.example.com/mesh/trellis:0.1.0-rc1',
  'injected-xds-address': 'xds.mesh.example.com:15010',
  'native-sidecars': 'false',
  'proxy-resources': '{"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}',
});

interface InjectedPod {
  metadata: { annotations: Record<string, string> };
  spec: {
    initContainers: { name: string; image: string; restartPolicy?: string }[];
    containers: { name: string; image: string; args?: string[]; resources?: unknown }[];
  };
}

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

  it('injects as its flags say: images, xDS address, legacy sidecar, resources', async () => {
    const answer = await post(`https://127.0.0.1:${handle.running.webhookPort}/inject`, ca.caPem, JSON.stringify(REVIEW));
    const { response } = JSON.parse(answer.body) as { response: { patch: string } };
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[];
    const pod = jsonpatch.applyPatch(structuredClone(REVIEW.request.object), patch).newDocument as unknown as InjectedPod;
    expect(pod.spec.initContainers.map((c) => [c.name, c.image])).toEqual([['trellis-capture', 'registry.example.com/mesh/trellis:0.1.0-rc1']]);
    const [proxy, app] = pod.spec.containers;
    expect([proxy?.name, proxy?.image, app?.name]).toEqual(['trellis-proxy', 'registry.example.com/mesh/envoy:v1.34.1-patched', 'app']);
    expect(proxy?.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
    const bootstrap = proxy?.args?.[proxy.args.indexOf('--config-yaml') + 1] ?? '';
    expect(bootstrap).toContain('address: xds.mesh.example.com');
    expect(bootstrap).toContain('port_value: 15010');
    expect(JSON.parse(pod.metadata.annotations['trellis.dev/status'] ?? '{}')).toMatchObject({ nativeSidecar: false });
  });

  it('is listed on the index of /debug, text and JSON', async () => {
    const base = `http://127.0.0.1:${handle.running.debugPort}/debug`;
    const line = `admission webhook: https://127.0.0.1:${handle.running.webhookPort}/inject (certificate CN=127.0.0.1, expires`;
    expect(await (await fetch(base)).text()).toContain(line);
    const injects =
      'admission webhook injects: proxy registry.example.com/mesh/envoy:v1.34.1-patched, capture registry.example.com/mesh/trellis:0.1.0-rc1, ' +
      'xDS xds.mesh.example.com:15010 (plaintext), Envoy as first container (legacy) (--native-sidecars false), ' +
      'resources requests cpu=50m,memory=64Mi limits memory=256Mi';
    expect(await (await fetch(base)).text()).toContain(injects);
    const body = (await (await fetch(`${base}?format=json`)).json()) as { servers?: string[] };
    expect(body.servers).toEqual([expect.stringContaining(line), injects]);
  });

  it('does not start when the certificate directory does not load, naming it', async () => {
    const missing = join(dir, 'nowhere');
    await expect(runServe(loadServeConfig(flags(missing, join(dir, 'mesh')), {}), pino({ level: 'silent' }))).rejects.toThrow(
      `the webhook certificate in ${missing} does not load: ENOENT`,
    );
  });
});
