/**
 * The rendered objects, for every values case: each valid for its Kubernetes (kubernetes-models) or cert-manager
 * (@kubernetes-models/cert-manager) schema, and the objects agree with one another: selectors select the pods,
 * Services reach container ports, the webhook reaches the webhook server with the certificate cert-manager issues
 * for that Service's name, and the flags point at what is mounted and at the issuer the chart makes.
 */
import { Certificate, ClusterIssuer, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { loadServeConfig, SERVE_FLAGS } from '../../src/config/config.ts';
import { type KubeObject, NAMESPACE, one, render, renderCases, valuesCases } from './support.ts';

const TIMEOUT = 120_000;

type Validatable = { validate(): void };
const MODELS: Readonly<Record<string, (o: never) => Validatable>> = {
  'v1/ServiceAccount': (o) => new ServiceAccount(o),
  'v1/Service': (o) => new Service(o),
  'v1/ConfigMap': (o) => new ConfigMap(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
  'rbac.authorization.k8s.io/v1/ClusterRole': (o) => new ClusterRole(o),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (o) => new ClusterRoleBinding(o),
  'rbac.authorization.k8s.io/v1/Role': (o) => new Role(o),
  'rbac.authorization.k8s.io/v1/RoleBinding': (o) => new RoleBinding(o),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': (o) => new MutatingWebhookConfiguration(o),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': (o) => new CustomResourceDefinition(o),
  'cert-manager.io/v1/Issuer': (o) => new Issuer(o),
  'cert-manager.io/v1/ClusterIssuer': (o) => new ClusterIssuer(o),
  'cert-manager.io/v1/Certificate': (o) => new Certificate(o),
};

/** The object's schema errors; a kind without a model is one. */
function schemaErrors(o: KubeObject): string[] {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model) return [`${o.kind} ${o.metadata.name}: no model for ${o.apiVersion}/${o.kind}`];
  try {
    model(o as never).validate();
    return [];
  } catch (e) {
    return [`${o.kind} ${o.metadata.name}: ${(e as Error).message}`];
  }
}

describe('every rendered object is valid for its schema', () => {
  it.each(renderCases())(
    '$name',
    async ({ args, kubeVersion }) => {
      const objects = await render(args, kubeVersion);
      expect(objects.flatMap(schemaErrors)).toEqual([]);
    },
    TIMEOUT,
  );

  it('a schema error is found (the check can fail)', () => {
    const bad = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x' }, spec: { isCA: 'yes', secretName: 'x', issuerRef: { name: 'x' } } };
    expect(schemaErrors(bad)).toEqual([expect.stringContaining('isCA must be boolean')]);
  });
});

// ------------------------------------------------------------------------------------------------
// agreement between the objects

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  targetPort?: number | string;
}
interface Container {
  name: string;
  args: string[];
  ports: Port[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: Record<string, unknown>;
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}
interface DeploymentShape {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: Record<string, unknown>;
        topologySpreadConstraints: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}
interface ServiceShape {
  metadata: { name: string; namespace: string };
  spec: { type: string; selector: Record<string, string>; ports: Port[] };
}
interface WebhookShape {
  name: string;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number }; caBundle?: string };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  objectSelector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values: string[] }[] };
  matchConditions: { expression: string }[];
  [k: string]: unknown;
}
interface CertificateShape {
  metadata: { name: string; namespace: string };
  spec: { secretName: string; dnsNames?: string[]; isCA?: boolean; issuerRef: { name: string; kind: string; group: string } };
}

const as = <T,>(o: KubeObject) => o as unknown as T;
const subset = (small: Record<string, string>, big: Record<string, string>) => Object.entries(small).every(([k, v]) => big[k] === v);

/** The flags of `serve`, `--name=value` (a flag without a value is 'true'). */
function flags(args: readonly string[]): Record<string, string> {
  expect(args[0]).toBe('serve');
  return Object.fromEntries(
    args.slice(1).map((a) => {
      const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
      if (!m) throw new Error(`not a --flag: ${a}`);
      return [m[1] ?? '', m[2] ?? 'true'];
    }),
  );
}
const portOf = (address: string | undefined) => Number(address?.split(':').pop());

/** The injection settings `serve` takes with the webhook's settings, added beside this chart (not in SERVE_FLAGS of this tree yet). */
const INJECTION_FLAGS = ['proxy-image', 'trellis-image', 'injected-xds-address', 'native-sidecars', 'proxy-resources'];

describe.each(valuesCases())('the objects agree with one another ($name)', ({ args, name }) => {
  let objects: KubeObject[];
  const values = name === 'defaults' ? {} : (parse(readFileSync(args[1] ?? '', 'utf8')) as { mtls?: { enabled?: boolean } });
  const secure = values.mtls?.enabled !== false;
  const deployment = () => as<DeploymentShape>(one(objects, 'Deployment', 'trellis'));
  const pod = () => deployment().spec.template;
  const container = () => {
    const c = pod().spec.containers;
    expect(c).toHaveLength(1);
    return c[0] as Container;
  };
  const f = () => flags(container().args);
  const containerPort = (name: string) => container().ports.find((p) => p.name === name)?.containerPort;

  it(
    'renders',
    async () => {
      objects = await render(args);
    },
    TIMEOUT,
  );

  it('selects the pods: Deployment, Services, PodDisruptionBudget and the spread over nodes', () => {
    const labels = pod().metadata.labels;
    expect(subset(deployment().spec.selector.matchLabels, labels)).toBe(true);
    for (const s of objects.filter((o) => o.kind === 'Service')) expect(subset(as<ServiceShape>(s).spec.selector, labels), s.metadata.name).toBe(true);
    const pdb = one(objects, 'PodDisruptionBudget', 'trellis') as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(subset(pdb.spec.selector.matchLabels, labels)).toBe(true);
    const spread = pod().spec.topologySpreadConstraints;
    expect(spread.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname']);
    expect(subset(spread[0]?.labelSelector.matchLabels ?? {}, labels)).toBe(true);
    expect(labels['trellis.dev/inject']).toBe('false');
  });

  it("every Service's targetPort is a port of the container, the debug one ClusterIP only", () => {
    const services = objects.filter((o) => o.kind === 'Service').map((o) => as<ServiceShape>(o));
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['trellis', 'trellis-debug', 'trellis-webhook']);
    for (const s of services) {
      expect(s.spec.type).toBe('ClusterIP');
      for (const p of s.spec.ports) expect(containerPort(String(p.targetPort)), `${s.metadata.name} ${p.name}`).toBeDefined();
    }
    const ports = (n: string) => services.find((s) => s.metadata.name === n)?.spec.ports.map((p) => [p.port, containerPort(String(p.targetPort))]);
    expect(ports('trellis')).toEqual(secure ? [[15010, 15010], [15012, 15012]] : [[15010, 15010]]);
    expect(ports('trellis-webhook')).toEqual([[443, 15017]]);
    expect(ports('trellis-debug')).toEqual([[15014, 15014]]);
  });

  it('the servers listen on all addresses at the container ports', () => {
    expect(f()['xds-address']).toBe(`0.0.0.0:${containerPort('grpc-xds')}`);
    expect(f()['debug-address']).toBe(`0.0.0.0:${containerPort('http-debug')}`);
    expect(f()['webhook-address']).toBe(`0.0.0.0:${containerPort('https-webhook')}`);
    if (secure) expect(f()['xds-secure-address']).toBe(`0.0.0.0:${containerPort('grpc-xds-tls')}`);
    else expect(f()['xds-secure-address']).toBeUndefined();
    expect(f()['in-cluster']).toBe('true');
  });

  it("passes serve only its own flags, which serve's config accepts (with the downward API's environment)", () => {
    const known = new Set<string>(Object.values(SERVE_FLAGS).map((s) => s.flag));
    expect(Object.keys(f()).filter((k) => !known.has(k) && !INJECTION_FLAGS.includes(k))).toEqual([]);
    const own = Object.fromEntries(Object.entries(f()).filter(([k]) => known.has(k)));
    const config = loadServeConfig(own, { POD_NAME: 'trellis-7c9d-x2x', POD_NAMESPACE: NAMESPACE });
    expect(config).toMatchObject({ inCluster: true, leaseNamespace: NAMESPACE, identity: 'trellis-7c9d-x2x' });
    expect(config.issuer !== undefined).toBe(secure);
  });

  it('probes /healthz and /readyz on the debug port', () => {
    expect(container().livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-debug' });
    expect(container().readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-debug' });
  });

  it('gives --id and --lease-namespace through the downward API', () => {
    const env = Object.fromEntries(container().env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(env).toEqual({ POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' });
  });

  it('runs under the restricted Pod Security Standard', () => {
    expect(pod().spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container().securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it("the webhook reaches the webhook server at /inject, trusted through the Certificate of the Service's name", () => {
    const config = one(objects, 'MutatingWebhookConfiguration', 'trellis');
    const hooks = (config as unknown as { webhooks: WebhookShape[] }).webhooks;
    expect(hooks).toHaveLength(2);
    const service = as<ServiceShape>(one(objects, 'Service', 'trellis-webhook'));
    const [ns, certName] = (config.metadata.annotations?.['cert-manager.io/inject-ca-from'] ?? '').split('/');
    const cert = as<CertificateShape>(one(objects, 'Certificate', certName));
    expect(cert.metadata.namespace).toBe(ns);
    for (const h of hooks) {
      expect(h.clientConfig.caBundle).toBeUndefined();
      expect(h.clientConfig.service).toEqual({ name: service.metadata.name, namespace: NAMESPACE, path: '/inject', port: 443 });
      expect(service.spec.ports.some((p) => p.port === h.clientConfig.service.port)).toBe(true);
      expect(h).toMatchObject({
        sideEffects: 'None',
        failurePolicy: 'Fail',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
        admissionReviewVersions: ['v1'],
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      });
      expect(h.matchConditions.map((c) => c.expression)).toEqual(['!has(object.spec.hostNetwork) || !object.spec.hostNetwork']);
      expect(h.namespaceSelector.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE],
      });
    }
    expect(cert.spec.dnsNames).toEqual([`${service.metadata.name}.${service.metadata.namespace}.svc`]);
    // The Secret cert-manager writes is what the webhook server reads, at --webhook-cert-dir.
    const volume = pod().spec.volumes.find((v) => v.secret?.secretName === cert.spec.secretName && v.secret.items?.some((i) => i.key === 'tls.key'));
    expect(volume?.secret?.items).toEqual([
      { key: 'tls.crt', path: 'tls.crt' },
      { key: 'tls.key', path: 'tls.key' },
    ]);
    expect(container().volumeMounts.find((m) => m.name === volume?.name)?.mountPath).toBe(f()['webhook-cert-dir']);
  });

  it('injects in a labelled namespace unless the pod says "false", elsewhere when the pod says "true"', () => {
    const hooks = (one(objects, 'MutatingWebhookConfiguration', 'trellis') as unknown as { webhooks: WebhookShape[] }).webhooks;
    const [byNamespace, byPod] = hooks;
    expect(byNamespace?.namespaceSelector.matchExpressions).toContainEqual({ key: 'trellis.dev/inject', operator: 'In', values: ['enabled'] });
    expect(byNamespace?.objectSelector).toEqual({ matchExpressions: [{ key: 'trellis.dev/inject', operator: 'NotIn', values: ['false'] }] });
    expect(byPod?.namespaceSelector.matchExpressions).toContainEqual({ key: 'trellis.dev/inject', operator: 'NotIn', values: ['enabled'] });
    expect(byPod?.objectSelector).toEqual({ matchLabels: { 'trellis.dev/inject': 'true' } });
  });

  it('--issuer names the issuer of the chart (or the one given), which also signs the webhook certificate', () => {
    const webhookCert = as<CertificateShape>(one(objects, 'Certificate', 'trellis-webhook'));
    const ref = webhookCert.spec.issuerRef;
    const issuerFlag = ref.kind === 'ClusterIssuer' && ref.group === 'cert-manager.io' ? ref.name : `${ref.kind}/${ref.name}/${ref.group}`;
    if (!secure) {
      expect([f().issuer, f()['trust-bundle'], f()['mtls-mode']]).toEqual([undefined, undefined, undefined]);
      return;
    }
    expect(f().issuer).toBe(issuerFlag);
    const clusterIssuers = objects.filter((o) => o.kind === 'ClusterIssuer');
    if (clusterIssuers.length > 0) {
      expect(clusterIssuers.map((o) => o.metadata.name)).toEqual([f().issuer]);
      const root = as<CertificateShape>(one(objects, 'Certificate', 'trellis-root-ca'));
      expect(root.spec.isCA).toBe(true);
      expect((clusterIssuers[0] as unknown as { spec: { ca: { secretName: string } } }).spec.ca.secretName).toBe(root.spec.secretName);
      const selfSigned = one(objects, 'Issuer', root.spec.issuerRef.name);
      expect(selfSigned.metadata.namespace).toBe(root.metadata.namespace);
      expect(selfSigned.spec).toEqual({ selfSigned: {} });
    }
  });

  it('--trust-bundle is the file of the mounted roots, never a key', () => {
    if (!secure) return expect(pod().spec.volumes.map((v) => v.name)).not.toContain('trust-bundle');
    const mount = container().volumeMounts.find((m) => f()['trust-bundle']?.startsWith(`${m.mountPath}/`));
    const volume = pod().spec.volumes.find((v) => v.name === mount?.name);
    const items = volume?.secret?.items ?? volume?.configMap?.items;
    expect(items).toHaveLength(1);
    expect(`${mount?.mountPath}/${items?.[0]?.path}`).toBe(f()['trust-bundle']);
    if (volume?.secret) expect(items?.[0]?.key).toBe('ca.crt');
  });

  it('tells injection where sidecars reach Trellis: the xDS Service, secure port when certificates are on', () => {
    const xds = as<ServiceShape>(one(objects, 'Service', 'trellis'));
    const port = portOf(f()['injected-xds-address']);
    expect(f()['injected-xds-address']).toBe(`${xds.metadata.name}.${xds.metadata.namespace}.svc:${port}`);
    expect(port).toBe(secure ? 15012 : 15010);
    expect(xds.spec.ports.map((p) => p.port)).toContain(port);
    expect(JSON.parse(f()['proxy-resources'] ?? '')).toMatchObject({ requests: expect.any(Object) });
    expect(['auto', 'true', 'false']).toContain(f()['native-sidecars']);
  });
});
