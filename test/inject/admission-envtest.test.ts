/**
 * The admission server against a real API server (envtest), registered by URL as the chart will
 * register it, started by `trellis serve --kubeconfig` with the injection flags and
 * `--native-sidecars auto`: the API server's /version (envtest's is v1.32) makes Envoy a native
 * sidecar; Pods created in a labelled namespace come back injected with the configured image and xDS
 * address, in an unlabelled one they do not, a bad annotation refuses the create with the annotation
 * in the message, and the certificate rotates during a stream of creates with none failing.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, ApiException, CoreV1Api, KubeConfig, type V1MutatingWebhookConfiguration, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { loadKubeConfig } from '../../src/sources/kube/index.ts';
import { readServerVersion } from '../../src/sources/kube/version.ts';
import { runServe, type ServeHandle } from '../../src/pipeline/index.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import { Logs } from '../support/logs.ts';
import { pollFor } from '../support/poll.ts';
import { makeCa, mountSecret } from './admission-support.ts';

const CONFIG = 'trellis-sidecar-injector-test';

let env: Envtest;
let dir: string;
let ca: Awaited<ReturnType<typeof makeCa>>;
let handle: ServeHandle;
let core: CoreV1Api;
let adm: AdmissionregistrationV1Api;
let meshed: string;
const logs = new Logs();
const PROXY_IMAGE = 'registry.example.com/mesh/envoy:v1.34.1';

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
  await env.installCrds([await readFile('crds/trafficpolicy.yaml', 'utf8')]);
  const home = await env.namespace('trellis');
  await writeFile(join(dir, 'kubeconfig'), env.adminKubeconfig);
  const flags = {
    kubeconfig: join(dir, 'kubeconfig'),
    namespaces: home,
    'lease-namespace': home,
    'xds-address': '127.0.0.1:0',
    'debug-address': '127.0.0.1:0',
    'webhook-address': '127.0.0.1:0',
    'webhook-cert-dir': join(dir, 'certs'),
    'proxy-image': PROXY_IMAGE,
    'injected-xds-address': 'trellis.mesh.example.com:15010',
  };
  handle = await runServe(loadServeConfig(flags, {}), pino({ level: 'info' }, { write: logs.write }));
  await adm.createMutatingWebhookConfiguration({ body: webhookConfig(handle.running.webhookPort, ca.caPem) });
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
  await handle?.stop();
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the admission webhook on a real API server', () => {
  it("reads the API server's version: envtest's v1.32 has native sidecars", async () => {
    const version = await readServerVersion(loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') }));
    expect([version.major, version.minor.replace(/\+$/, '')]).toEqual(['1', '32']);
    const index = await (await fetch(`http://127.0.0.1:${handle.running.debugPort}/debug`)).text();
    expect(index).toContain(`admission webhook injects: proxy ${PROXY_IMAGE}, `);
    expect(index).toContain('xDS trellis.mesh.example.com:15010 (plaintext), Envoy as native sidecar (API server v1.32 >= 1.29)');
  });

  it('does not start when the API server does not answer /version, saying what to set instead', async () => {
    const kubeconfig = join(dir, 'bad-token.kubeconfig');
    await writeFile(kubeconfig, env.adminKubeconfig.replace(/token: .*/, 'token: not-a-token'));
    const flags = {
      kubeconfig,
      'xds-address': '127.0.0.1:0',
      'debug-address': '127.0.0.1:0',
      'webhook-address': '127.0.0.1:0',
      'webhook-cert-dir': join(dir, 'certs'),
    };
    await expect(runServe(loadServeConfig(flags, {}), pino({ level: 'silent' }))).rejects.toThrow(
      `--native-sidecars auto: cannot read the version of the API server ${env.url} (GET /version): HTTP 401; give --native-sidecars true or false`,
    );
  });

  it('injects a Pod created in a labelled namespace, with the configured image and xDS address', async () => {
    const created = await core.createNamespacedPod({ namespace: meshed, body: pod('cart') });
    expect(created.spec?.initContainers?.map((c) => c.name)).toEqual(['trellis-capture', 'trellis-proxy']);
    expect(created.spec?.initContainers?.[1]?.restartPolicy).toBe('Always');
    const proxy = created.spec?.initContainers?.[1];
    expect(proxy?.image).toBe(PROXY_IMAGE);
    expect(proxy?.args?.[proxy.args.indexOf('--config-yaml') + 1]).toContain('address: trellis.mesh.example.com');
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
