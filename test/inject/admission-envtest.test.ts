/**
 * The admission server against a real API server (envtest), registered by URL as the chart will
 * register it: Pods created in a labelled namespace come back injected, in an unlabelled one they do
 * not, a bad annotation refuses the create with the annotation in the message, and the certificate
 * rotates during a stream of creates with none failing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, ApiException, CoreV1Api, KubeConfig, type V1MutatingWebhookConfiguration, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/inject/index.ts';
import { startAdmissionServer, type AdmissionServer } from '../../src/inject/server.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { makeCa, mountSecret } from './admission-support.ts';

const CONFIG = 'trellis-sidecar-injector-test';

let env: Envtest;
let dir: string;
let ca: Awaited<ReturnType<typeof makeCa>>;
let server: AdmissionServer;
let core: CoreV1Api;
let adm: AdmissionregistrationV1Api;
let meshed: string;
const logs = new Logs();

function webhookConfig(port: number, caPem: string): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: CONFIG },
    webhooks: [
      {
        name: 'inject.trellis.dev',
        clientConfig: { url: `https://127.0.0.1:${port}/inject`, caBundle: Buffer.from(caPem).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { 'trellis.dev/inject': 'enabled' } },
        matchConditions: [{ name: 'not-host-network', expression: '!has(object.spec.hostNetwork) || !object.spec.hostNetwork' }],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
      },
    ],
  };
}

function pod(name: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, annotations },
    spec: { containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0', ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
}

const containerNames = (p: V1Pod) => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);

async function labelledNamespace(prefix: string): Promise<string> {
  const name = await env.namespace(prefix);
  await core.patchNamespace({ name, body: [{ op: 'add', path: '/metadata/labels', value: { 'trellis.dev/inject': 'enabled' } }] });
  return name;
}

beforeAll(async () => {
  env = await startEnvtest();
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  adm = kc.makeApiClient(AdmissionregistrationV1Api);
  dir = await mkdtemp(join(tmpdir(), 'trellis-admission-envtest-'));
  ca = await makeCa(dir);
  const pair = await ca.issue();
  await mountSecret(join(dir, 'certs'), { 'tls.crt': pair.cert, 'tls.key': pair.key });
  server = await startAdmissionServer({
    host: '127.0.0.1',
    port: 0,
    certDir: join(dir, 'certs'),
    settings: DEFAULT_SETTINGS,
    logger: pino({ level: 'info' }, { write: logs.write }),
  });
  await adm.createMutatingWebhookConfiguration({ body: webhookConfig(server.port, ca.caPem) });
  meshed = await labelledNamespace('meshed');
  // The API server takes up webhook configurations through an informer: dry-run creates until one comes back injected.
  await pollFor(
    'the webhook in effect',
    async () => containerNames(await core.createNamespacedPod({ namespace: meshed, body: pod('probe'), dryRun: 'All' })),
    (names) => names.includes('trellis-proxy'),
    20_000,
  );
}, 90_000);

afterAll(async () => {
  await adm?.deleteMutatingWebhookConfiguration({ name: CONFIG }).catch(() => undefined);
  await server?.close();
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the admission webhook on a real API server', () => {
  it('injects a Pod created in a labelled namespace', async () => {
    const created = await core.createNamespacedPod({ namespace: meshed, body: pod('cart') });
    expect(created.spec?.initContainers?.map((c) => c.name)).toEqual(['trellis-capture', 'trellis-proxy']);
    expect(created.spec?.initContainers?.[1]?.restartPolicy).toBe('Always');
    expect(created.metadata?.annotations?.['trellis.dev/status']).toBeDefined();
    const stored = await core.readNamespacedPod({ namespace: meshed, name: 'cart' });
    expect(containerNames(stored)).toEqual(['trellis-capture', 'trellis-proxy', 'app']);
  });

  it('leaves alone a Pod in an unlabelled namespace, one that opts out, and a hostNetwork one', async () => {
    const plain = await env.namespace('plain');
    expect(containerNames(await core.createNamespacedPod({ namespace: plain, body: pod('cart') }))).toEqual(['app']);
    const optOut = { ...pod('opt-out'), metadata: { name: 'opt-out', labels: { 'trellis.dev/inject': 'false' } } };
    expect(containerNames(await core.createNamespacedPod({ namespace: meshed, body: optOut }))).toEqual(['app']);
    const host = pod('host');
    host.spec = { ...host.spec, containers: host.spec?.containers ?? [], hostNetwork: true };
    expect(containerNames(await core.createNamespacedPod({ namespace: meshed, body: host }))).toEqual(['app']);
  });

  it('refuses a Pod with a bad annotation, the annotation in the message', async () => {
    const err = await core.createNamespacedPod({ namespace: meshed, body: pod('bad', { 'trellis.dev/exclude-inbound-ports': '8080,http' }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    expect(e.code).toBe(403);
    expect(String(e.body)).toContain('admission webhook \\"inject.trellis.dev\\" denied the request');
    expect(String(e.body)).toContain('trellis.dev/exclude-inbound-ports');
  });

  it('rotates its certificate during a stream of creates with none failing', async () => {
    const ns = await labelledNamespace('rotate');
    const results: (string | Error)[] = [];
    let stop = false;
    // Three creates in flight at any time, so that a swap lands while admissions are under way.
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const created = await core
          .createNamespacedPod({ namespace: ns, body: pod(`w${w}-p${i}`) })
          .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
        results.push(created instanceof Error ? created : containerNames(created).join(','));
      }
    };
    const stream = Promise.all([0, 1, 2].map(worker));
    try {
      for (let r = 0; r < 3; r++) {
        const seen = results.length;
        await pollFor(
          'creates under the current pair',
          async () => results.length,
          (n) => n >= seen + 6,
          20_000,
          20,
        );
        const changed = logs.count(30, /^webhook certificate changed/);
        const next = await ca.issue();
        await mountSecret(join(dir, 'certs'), { 'tls.crt': next.cert, 'tls.key': next.key });
        await logs.until(`rotation ${r + 1} taken up`, () => logs.count(30, /^webhook certificate changed/) > changed);
      }
      const seen = results.length;
      await pollFor(
        'creates under the last pair',
        async () => results.length,
        (n) => n >= seen + 6,
        20_000,
        20,
      );
    } finally {
      stop = true;
      await stream;
    }
    expect(results.filter((r) => r instanceof Error).map((e) => e.message)).toEqual([]);
    expect(new Set(results)).toEqual(new Set(['trellis-capture,trellis-proxy,app']));
    expect(results.length).toBeGreaterThanOrEqual(24);
  });
});
