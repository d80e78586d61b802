/**
 * The values of the Helm chart (helm/trellis) as one zod schema: `npm run gen` writes its JSON Schema to
 * helm/trellis/values.schema.json (draft-07, every object closed), so `helm install` refuses a typo in
 * values rather than ignoring it. helm/trellis/values.yaml is written by hand (it carries the comments);
 * a test checks that it is exactly what this schema's defaults say.
 */
import { z } from 'zod';
import { DEFAULT_ENVOY_IMAGE, DEFAULT_SETTINGS, type Resources } from '../inject/settings.js';
import { MTLS_MODES } from '../policy/schema.js';
import { QUANTITY } from './injection.js';

/** A Kubernetes resource quantity (`100m`, `128Mi`, `1.5`, `2`). */
const quantity = z
  .string()
  .regex(QUANTITY, 'expected a Kubernetes quantity such as 100m, 128Mi or 2')
  .describe('a Kubernetes quantity such as 100m, 128Mi or 2');

const resourceList = z
  .strictObject({ cpu: quantity.optional(), memory: quantity.optional(), 'ephemeral-storage': quantity.optional() })
  .describe('cpu, memory and ephemeral-storage');

const resources = (defaults: Resources, what: string) =>
  z
    .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
    .default(structuredClone(defaults) as { requests?: z.output<typeof resourceList>; limits?: z.output<typeof resourceList> })
    .describe(`compute resources of ${what}`);

const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a DNS label such as trellis-ca');
const dnsSubdomain = z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'expected a DNS subdomain such as trellis-ca');
/** A duration as cert-manager takes it (Go's time.ParseDuration, hours at most); no lookahead: Helm checks patterns with Go's regexp. */
const duration = z.string().regex(/^([0-9]+h([0-9]+m)?([0-9]+s)?|[0-9]+m([0-9]+s)?|[0-9]+s)$/, 'expected a duration such as 8760h');

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

export const helmValuesSchema = z
  .strictObject({
    image: z
      .strictObject({
        repository: z.string().min(1).default('ghcr.io/trellis-mesh/trellis'),
        tag: z.string().default('').describe("the image tag; empty: the chart's appVersion"),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      })
      .prefault({})
      .describe("Trellis's image: the control plane, and `trellis capture` in every injected Pod's init container"),
    imagePullSecrets: z
      .array(z.strictObject({ name: dnsSubdomain }))
      .default([])
      .describe("Secrets to pull Trellis's image with"),
    replicas: z.number().int().min(1).default(2).describe('replicas of the control plane (one Lease elects the status writer)'),
    resources: resources({ requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } }, 'the control plane'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
    namespaces: z.array(dnsLabel).default([]).describe('the namespaces Trellis watches (--namespaces); empty: all of them'),
    mtls: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('workload certificates from cert-manager and the secure xDS port (--issuer); false: nothing encrypted, sidecars reach xDS in plaintext'),
        mode: z.enum(MTLS_MODES).default('PERMISSIVE').describe('--mtls-mode: ports whose TrafficPolicy does not say; STRICT needs mtls.enabled'),
      })
      .prefault({}),
    certManager: z
      .strictObject({
        createIssuers: z
          .boolean()
          .default(true)
          .describe('create a self-signed root CA (in clusterResourceNamespace) and the CA ClusterIssuer issuer.name; false: bring your own issuer'),
        clusterResourceNamespace: dnsLabel
          .default('cert-manager')
          .describe("cert-manager's --cluster-resource-namespace: where a CA ClusterIssuer reads its Secret, so where the root CA is made"),
        rootCaDuration: duration.default('87600h').describe('lifetime of the self-signed root CA'),
        issuer: z
          .strictObject({
            name: dnsSubdomain.default('trellis-ca'),
            kind: z.enum(['ClusterIssuer', 'Issuer']).default('ClusterIssuer'),
            group: dnsSubdomain.default('cert-manager.io'),
          })
          .prefault({})
          .describe("the issuer of workload certificates (--issuer) and of the webhook's certificate; an Issuer must be in the release namespace"),
      })
      .prefault({}),
    trustBundle: z
      .strictObject({
        configMap: z
          .strictObject({ name: dnsSubdomain, key: z.string().min(1) })
          .optional()
          .describe('a ConfigMap key in the release namespace holding the PEM roots (trust-manager, say); unset: the ca.crt of the webhook Secret'),
      })
      .prefault({})
      .describe('the roots workload certificates chain to (--trust-bundle)'),
    proxy: z
      .strictObject({
        image: z.string().min(1).default(DEFAULT_ENVOY_IMAGE).describe('the Envoy image injected as the sidecar'),
        resources: resources(DEFAULT_SETTINGS.proxyResources, 'each injected Envoy sidecar'),
        nativeSidecars: z
          .enum(['auto', 'true', 'false'])
          .default('auto')
          .describe('Envoy as a native sidecar (Kubernetes 1.29 or later); auto: as the API server version allows'),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        dashboard: z
          .strictObject({
            enabled: z.boolean().default(true).describe("a ConfigMap holding the Grafana dashboard (dashboards/trellis.json), for Grafana's dashboard sidecar"),
            labels: z
              .record(z.string(), z.string())
              .default({ grafana_dashboard: '1' })
              .describe("the ConfigMap's labels, as the sidecar's label selector expects them"),
            annotations: z.record(z.string(), z.string()).default({}).describe("the ConfigMap's annotations (the sidecar's folder annotation, say)"),
          })
          .prefault({}),
        prometheusRule: z
          .strictObject({
            enabled: z.boolean().default(false).describe("a PrometheusRule with Trellis's alerts (needs the prometheus-operator CRDs)"),
            labels: z.record(z.string(), z.string()).default({}).describe("the PrometheusRule's labels, as the Prometheus's ruleSelector expects them"),
            certExpirySeconds: z
              .number()
              .int()
              .min(60)
              .default(14400)
              .describe('TrellisCertificateExpiring fires when a served workload certificate has fewer seconds left than this'),
          })
          .prefault({}),
      })
      .prefault({})
      .describe('the Grafana dashboard and the Prometheus alerts, built on /metrics of the trellis-debug Service (port 15014)'),
    podDisruptionBudget: z.strictObject({ minAvailable: z.number().int().min(0).default(1) }).prefault({}),
    nodeSelector: z.record(z.string(), z.string()).default({}),
    tolerations: z.array(toleration).default([]),
    priorityClassName: z.string().default(''),
  })
  .describe('Values of the Trellis chart');

export type HelmValues = z.output<typeof helmValuesSchema>;

/** The JSON Schema of the values, as helm/trellis/values.schema.json holds it. */
export function helmValuesJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(helmValuesSchema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' });
}
