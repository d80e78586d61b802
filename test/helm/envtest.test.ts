/**
 * The rendered chart against a real API server (envtest) with the real cert-manager (controller and webhook,
 * test/support/cert-manager.ts): no rendered object has a field its served OpenAPI schema lacks; every object of
 * every values case is created (not a dry run) and accepted, cert-manager's webhook validating its kinds; and with
 * the defaults, cert-manager issues what the chart asks for: the root CA, the `trellis-ca` ClusterIssuer, and the
 * webhook's certificate for the webhook Service's name, whose ca.crt (Trellis's --trust-bundle) is that root.
 * Not here: the Deployment's pods never run (envtest has no kubelet, and no image is built here), and cert-manager's
 * CA injector (which fills the webhook's caBundle) is not among the binaries.
 */
import { X509Certificate } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionOf, startCertManager, waitForObject, type CertManager } from '../support/cert-manager.ts';
import { startEnvtest, type Envtest } from '../support/envtest.ts';
import { pollFor } from '../support/poll.ts';
import { servedOpenApi, type OpenApi } from './openapi.ts';
import { type KubeObject, parseObjects, render, renderCases, templateText, valuesCases } from './support.ts';

const TIMEOUT = 180_000;
const GROUP_VERSIONS = [
  'v1',
  'apps/v1',
  'policy/v1',
  'rbac.authorization.k8s.io/v1',
  'admissionregistration.k8s.io/v1',
  'apiextensions.k8s.io/v1',
  'cert-manager.io/v1',
];

let env: Envtest;
let cm: CertManager;
let openapi: OpenApi;
let kc: KubeConfig;

beforeAll(async () => {
  env = await startEnvtest();
  // Its own CA issuer under another name: `trellis-ca` is the chart's to make.
  cm = await startCertManager(env, { issuerName: 'envtest-ca' });
  openapi = await servedOpenApi(env, GROUP_VERSIONS);
  kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
}, TIMEOUT);

afterAll(async () => {
  await cm?.stop();
  await env?.stop();
}, TIMEOUT);

describe('no rendered object has a field its schema lacks (the OpenAPI the API server serves)', () => {
  it.each(renderCases())(
    '$name',
    async ({ args, kubeVersion }) => {
      const objects = await render(args, kubeVersion);
      expect(objects.flatMap((o) => openapi.unknownFields(o).map((f) => `${o.kind} ${o.metadata.name}: ${f}`))).toEqual([]);
    },
    TIMEOUT,
  );

  it('finds one (the check can fail)', async () => {
    const [deployment] = (await render()).filter((o) => o.kind === 'Deployment');
    const bad = structuredClone(deployment) as KubeObject & { spec: { template: { spec: Record<string, unknown> } } };
    bad.spec.template.spec.securityContextt = {};
    expect(openapi.unknownFields(bad)).toEqual(['.spec.template.spec.securityContextt']);
    const cert = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x' }, spec: { secretName: 'x', dnsName: ['a'] } };
    expect(openapi.unknownFields(cert)).toEqual(['.spec.dnsName']);
  });
});

/**
 * Creates every object of the rendered text, as client-node reads YAML. Each case has a fresh release namespace; what an
 * earlier case made outside it (cluster-scoped objects, the root CA in cert-manager's namespace) is replaced.
 */
async function createAll(text: string, releaseNamespace: string): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const objects = (loadAllYaml(text) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null);
  for (const o of objects) {
    try {
      await client.create(o);
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409 || (o.metadata?.namespace !== undefined && o.metadata.namespace === releaseNamespace)) throw e;
      const current = await client.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name ?? '', namespace: o.metadata?.namespace } });
      await client.replace({ ...o, metadata: { ...o.metadata, resourceVersion: current.metadata?.resourceVersion } });
    }
    if (o.kind === 'CustomResourceDefinition') {
      await pollFor(
        `CRD ${o.metadata?.name} Established`,
        () => client.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name ?? '' } }),
        (crd) => conditionOf(crd as never, 'Established')?.status === 'True',
        30_000,
      );
    }
  }
  // Read back: each is there as created.
  for (const o of objects) {
    const read = await client.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name ?? '', namespace: o.metadata?.namespace } });
    expect(read.metadata?.uid, `${o.kind} ${o.metadata?.name}`).toBeDefined();
  }
  return objects;
}

async function ensureNamespace(name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } })
    .catch((e: unknown) => {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
    });
}

describe('every object is created and accepted', () => {
  it.each(valuesCases())(
    '$name',
    async ({ args }) => {
      const ns = await env.namespace('trellis');
      const text = await templateText(args, undefined, ns);
      for (const o of parseObjects(text)) if (o.metadata.namespace !== undefined) await ensureNamespace(o.metadata.namespace);
      const created = await createAll(text, ns);
      expect(created.map((o) => o.kind)).toEqual(
        expect.arrayContaining(['CustomResourceDefinition', 'ClusterRole', 'Role', 'Deployment', 'Service', 'PodDisruptionBudget', 'MutatingWebhookConfiguration']),
      );
    },
    TIMEOUT,
  );
});

describe('cert-manager issues what the default chart asks for', () => {
  it(
    'the root CA, the trellis-ca ClusterIssuer, and the webhook certificate for its Service, chaining to that root',
    async () => {
      const ns = await env.namespace('trellis');
      await createAll(await templateText([], undefined, ns), ns);
      const isReady = (o: { status?: { conditions?: never[] } }) => conditionOf(o, 'Ready')?.status === 'True';
      const cmGroup = { group: 'cert-manager.io', version: 'v1' };
      await waitForObject(kc, { ...cmGroup, plural: 'certificates', namespace: cm.namespace, name: 'trellis-root-ca' }, isReady, 90_000);
      await waitForObject(kc, { ...cmGroup, plural: 'clusterissuers', name: 'trellis-ca' }, isReady, 90_000);
      await waitForObject(kc, { ...cmGroup, plural: 'certificates', namespace: ns, name: 'trellis-webhook' }, isReady, 90_000);
      const core = kc.makeApiClient(CoreV1Api);
      const pem = (data: Record<string, string> | undefined, key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');
      const root = await core.readNamespacedSecret({ namespace: cm.namespace, name: 'trellis-root-ca' });
      const webhook = await core.readNamespacedSecret({ namespace: ns, name: 'trellis-webhook-tls' });
      expect(pem(webhook.data, 'ca.crt')).toBe(pem(root.data, 'tls.crt'));
      const serving = new X509Certificate(pem(webhook.data, 'tls.crt'));
      expect(serving.subjectAltName).toBe(`DNS:trellis-webhook.${ns}.svc`);
      expect(serving.verify(new X509Certificate(pem(root.data, 'tls.crt')).publicKey)).toBe(true);
    },
    TIMEOUT,
  );
});
