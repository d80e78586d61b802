/**
 * The control plane's settings and each command's flags, as zod schemas. For `serve`, flags win
 * over environment variables (TRELLIS_*), which win over the defaults.
 */
import { z } from 'zod';
import {
  DEFAULT_ENVOY_IMAGE,
  DEFAULT_NAMESPACE,
  DEFAULT_SETTINGS,
  DEFAULT_TRELLIS_IMAGE,
  DEFAULT_XDS_ADDRESS,
  DEFAULT_XDS_SECURE_PORT,
  defaultXdsAddress,
  PROXY_UID,
} from '../inject/settings.js';
import { imageRef, proxyResources } from './injection.js';

/** The ports `trellis serve` listens on by default, which the chart's pods listen on too (helm/trellis). */
export const DEFAULT_XDS_PLAINTEXT_PORT = 15010;
export const DEFAULT_DEBUG_PORT = 15014;
/**
 * Where `trellis serve` listens by default, and so where the commands that read it look: the plaintext
 * xDS (ADS and client status) port and the debug endpoint, on loopback.
 */
export const DEFAULT_XDS_PLAINTEXT_ADDRESS = `127.0.0.1:${DEFAULT_XDS_PLAINTEXT_PORT}`;
export const DEFAULT_DEBUG_ADDRESS = `127.0.0.1:${DEFAULT_DEBUG_PORT}`;
import { MTLS_MODES } from '../policy/schema.js';

export const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:15010')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    return { host, port: Number(s.slice(i + 1)) };
  })
  .refine((a) => a.port <= 65535, 'port must be at most 65535');

const millis = z.coerce.number().int().min(0).max(600_000);
/** A Go-style duration as cert-manager writes them (`24h`, `90m`, `1h30m`, `45s`) → seconds. */
const duration = z
  .string()
  .regex(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, 'expected a duration such as 24h, 90m or 1h30m')
  .transform((s) => {
    const part = (unit: string) => Number(new RegExp(`(\\d+)${unit}`).exec(s)?.[1] ?? 0);
    return part('h') * 3600 + part('m') * 60 + part('s');
  });

/** `[KIND/]NAME[/GROUP]` of a cert-manager issuer: ClusterIssuer and cert-manager.io unless given. */
const issuerRef = z
  .string()
  .regex(/^([A-Za-z]+\/)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/[a-z0-9.-]+)?$/, 'expected [KIND/]NAME[/GROUP], e.g. trellis-ca or Issuer/mesh-ca')
  .transform((s) => {
    const parts = s.split('/');
    const [kind, name, group] = parts.length === 1 ? ['ClusterIssuer', parts[0], 'cert-manager.io'] : [parts[0], parts[1], parts[2] ?? 'cert-manager.io'];
    return { kind: kind ?? 'ClusterIssuer', name: name ?? '', group: group ?? 'cert-manager.io' };
  });

const dnsName = z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'expected a DNS name such as cluster.local');

export interface FlagSpec {
  readonly flag: string;
  readonly env?: string;
  readonly help: string;
  /** A flag without a value (`--in-cluster`); its value is 'true' when given. */
  readonly boolean?: true;
  /** A one-letter alias (`-o` for `--output`). */
  readonly short?: string;
}

export const SERVE_FLAGS = {
  manifests: { flag: 'manifests', env: 'TRELLIS_MANIFESTS', help: 'directory of Kubernetes manifests to serve (read recursively, watched)' },
  kubeconfig: { flag: 'kubeconfig', env: 'TRELLIS_KUBECONFIG', help: 'read a live cluster through this kubeconfig instead of manifests' },
  inCluster: { flag: 'in-cluster', env: 'TRELLIS_IN_CLUSTER', help: 'read the cluster Trellis runs in (its service account)', boolean: true },
  namespaces: { flag: 'namespaces', env: 'TRELLIS_NAMESPACES', help: 'cluster mode: only these namespaces (comma-separated)' },
  namespaceSelector: {
    flag: 'namespace-selector',
    env: 'TRELLIS_NAMESPACE_SELECTOR',
    help: 'cluster mode: only namespaces with these labels (a label selector)',
  },
  leaseNamespace: {
    flag: 'lease-namespace',
    env: 'POD_NAMESPACE',
    help: "cluster mode: Trellis's own namespace, for the Lease that elects the status writer, the progress boards and the CertificateRequests [trellis-system]",
  },
  identity: { flag: 'id', env: 'POD_NAME', help: "cluster mode: this replica's name in the Lease [hostname-pid]" },
  manifestMaxBytes: {
    flag: 'manifest-max-bytes',
    env: 'TRELLIS_MANIFEST_MAX_BYTES',
    help: 'a manifest file larger than this is an error, not read [16777216 (16 MiB)]',
  },
  manifestSettleMs: {
    flag: 'manifest-settle',
    env: 'TRELLIS_MANIFEST_SETTLE_MS',
    help: 'a manifest file written in place is taken once unchanged this long, ms (one replaced by rename at once) [500]',
  },
  xdsAddress: {
    flag: 'xds-address',
    env: 'TRELLIS_XDS_ADDRESS',
    help: `HOST:PORT for the plaintext xDS (ADS) gRPC server: no authentication, no Secrets [${DEFAULT_XDS_PLAINTEXT_ADDRESS}]`,
  },
  xdsSecureAddress: {
    flag: 'xds-secure-address',
    env: 'TRELLIS_XDS_SECURE_ADDRESS',
    help: 'with --issuer: HOST:PORT for the xDS server over TLS, where proxies authenticate and receive their Secrets [0.0.0.0:15012]',
  },
  debugAddress: { flag: 'debug-address', env: 'TRELLIS_DEBUG_ADDRESS', help: `HOST:PORT for the debug HTTP endpoint [${DEFAULT_DEBUG_ADDRESS}]` },
  webhookAddress: {
    flag: 'webhook-address',
    env: 'TRELLIS_WEBHOOK_ADDRESS',
    help: 'with --webhook-cert-dir: HOST:PORT for the sidecar injection webhook over HTTPS, POST /inject (the chart: 0.0.0.0:15017); unset: no webhook',
  },
  webhookCertDir: {
    flag: 'webhook-cert-dir',
    env: 'TRELLIS_WEBHOOK_CERT_DIR',
    help: "with --webhook-address: the directory of the webhook's tls.crt and tls.key (a cert-manager Certificate's Secret, mounted; re-read when it changes)",
  },
  proxyImage: {
    flag: 'proxy-image',
    env: 'TRELLIS_PROXY_IMAGE',
    help: `with --webhook-address: the Envoy image of injected sidecars [${DEFAULT_ENVOY_IMAGE}]`,
  },
  trellisImage: {
    flag: 'trellis-image',
    env: 'TRELLIS_IMAGE',
    help: `with --webhook-address: Trellis's image, which runs trellis capture in the injected init container [${DEFAULT_TRELLIS_IMAGE}]`,
  },
  injectedXdsAddress: {
    flag: 'injected-xds-address',
    env: 'TRELLIS_INJECTED_XDS_ADDRESS',
    help: `with --webhook-address: HOST:PORT where injected sidecars reach Trellis; with --issuer they use TLS and a token (the secure port) [trellis.<--lease-namespace>.svc:${DEFAULT_XDS_ADDRESS.port}, with --issuer :${DEFAULT_XDS_SECURE_PORT}]`,
  },
  nativeSidecars: {
    flag: 'native-sidecars',
    env: 'TRELLIS_NATIVE_SIDECARS',
    help: "with --webhook-address: true: Envoy is a native sidecar (an init container that keeps running; Kubernetes 1.29 or later), false: the first container; auto: true when the API server's /version, read once at start, is 1.29 or later — if it cannot be read Trellis does not start (say true or false to not depend on it); a Pod's trellis.dev/native-sidecar annotation wins [auto; with --manifests give true or false]",
  },
  proxyResources: {
    flag: 'proxy-resources',
    env: 'TRELLIS_PROXY_RESOURCES',
    help: `with --webhook-address: the sidecar's resources as JSON, {"requests": {...}, "limits": {...}} of Kubernetes quantities; replaces the default [${JSON.stringify(DEFAULT_SETTINGS.proxyResources)}]`,
  },
  debounceMinMs: { flag: 'debounce-min', env: 'TRELLIS_DEBOUNCE_MIN_MS', help: 'quiet time after a change before pushing, ms [100]' },
  debounceMaxMs: { flag: 'debounce-max', env: 'TRELLIS_DEBOUNCE_MAX_MS', help: 'longest a change may wait before pushing, ms [1000]' },
  classGraceMs: {
    flag: 'class-grace',
    env: 'TRELLIS_CLASS_GRACE_MS',
    help: 'how long a proxy class with no connected proxy is kept (a reconnect within it pays no rebuild), ms [30000]',
  },
  domain: { flag: 'domain', env: 'TRELLIS_DOMAIN', help: 'the cluster DNS domain [cluster.local]' },
  trustDomain: { flag: 'trust-domain', env: 'TRELLIS_TRUST_DOMAIN', help: 'the SPIFFE trust domain of workload identities [cluster.local]' },
  issuer: {
    flag: 'issuer',
    env: 'TRELLIS_ISSUER',
    help: 'cluster mode: the cert-manager issuer of workload certificates, [KIND/]NAME[/GROUP] (ClusterIssuer, cert-manager.io unless given; the chart sets trellis-ca); unset: no certificates, nothing encrypted',
  },
  trustBundle: {
    flag: 'trust-bundle',
    env: 'TRELLIS_TRUST_BUNDLE',
    help: 'with --issuer: PEM file of the root certificates workload certificates must chain to (re-read when it changes)',
  },
  certDuration: { flag: 'cert-duration', env: 'TRELLIS_CERT_DURATION', help: 'lifetime asked for workload certificates, renewed at 2/3 of it [24h]' },
  certRequestTimeout: {
    flag: 'cert-request-timeout',
    env: 'TRELLIS_CERT_REQUEST_TIMEOUT',
    help: 'how long a CertificateRequest may stay unanswered before it is deleted and retried [60s]',
  },
  mtlsMode: {
    flag: 'mtls-mode',
    env: 'TRELLIS_MTLS_MODE',
    help: 'with --issuer: how service ports whose TrafficPolicy does not say are secured, STRICT (mutual TLS only) or PERMISSIVE (mutual TLS and plaintext) [PERMISSIVE]',
  },
  logLevel: { flag: 'log-level', env: 'TRELLIS_LOG_LEVEL', help: 'trace|debug|info|warn|error [info]' },
} as const satisfies Record<string, FlagSpec>;

const mtlsMode = z.enum(MTLS_MODES, { error: 'expected STRICT or PERMISSIVE' });
/** What `render` and `validate` take for mutual TLS: as `serve --issuer` with that --mtls-mode, or off (no --issuer). */
const mtlsOffline = z.enum([...MTLS_MODES, 'off'], { error: 'expected STRICT, PERMISSIVE or off' }).default('off');
const MTLS_OFFLINE_FLAG = {
  flag: 'mtls',
  help: 'as Trellis with workload certificates (serve --issuer) and this --mtls-mode, STRICT or PERMISSIVE; or off, as without them (nothing encrypted) [off]',
} as const satisfies FlagSpec;

const flagBoolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const serveConfigSchema = z
  .object({
    manifests: z.string().min(1).optional(),
    kubeconfig: z.string().min(1).optional(),
    inCluster: flagBoolean.default(false),
    namespaces: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      )
      .optional(),
    namespaceSelector: z.string().min(1).optional(),
    leaseNamespace: z.string().min(1).default(DEFAULT_NAMESPACE),
    identity: z.string().min(1).optional(),
    manifestMaxBytes: z.coerce
      .number()
      .int()
      .min(1)
      .default(16 * 1024 * 1024),
    manifestSettleMs: millis.default(500),
    xdsAddress: hostPort.prefault(DEFAULT_XDS_PLAINTEXT_ADDRESS),
    xdsSecureAddress: hostPort.optional(),
    debugAddress: hostPort.prefault(DEFAULT_DEBUG_ADDRESS),
    webhookAddress: hostPort.optional(),
    webhookCertDir: z.string().min(1).optional(),
    proxyImage: imageRef.optional(),
    trellisImage: imageRef.optional(),
    injectedXdsAddress: hostPort.optional(),
    nativeSidecars: z.enum(['auto', 'true', 'false'], { error: 'expected auto, true or false' }).optional(),
    proxyResources: proxyResources.optional(),
    debounceMinMs: millis.default(100),
    debounceMaxMs: millis.default(1000),
    classGraceMs: millis.default(30_000),
    domain: dnsName.default('cluster.local'),
    trustDomain: dnsName.default('cluster.local'),
    issuer: issuerRef.optional(),
    trustBundle: z.string().min(1).optional(),
    certDuration: duration.prefault('24h').refine((s) => s >= 60, 'a certificate must live at least 1m'),
    certRequestTimeout: duration.prefault('60s').refine((s) => s >= 1, 'at least 1s'),
    mtlsMode: mtlsMode.default('PERMISSIVE'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  })
  .refine((c) => c.debounceMinMs <= c.debounceMaxMs, { message: 'debounce min must not exceed max', path: ['debounceMinMs'] })
  .refine((c) => [c.manifests, c.kubeconfig, c.inCluster || undefined].filter(Boolean).length === 1, {
    message: 'give exactly one source: --manifests DIR, --kubeconfig FILE or --in-cluster',
    path: ['manifests'],
  })
  .refine((c) => !(c.namespaces && c.namespaceSelector), { message: 'give --namespaces or --namespace-selector, not both', path: ['namespaces'] })
  .refine((c) => !(c.issuer && c.manifests), {
    message: 'workload certificates come from cert-manager in a cluster: --issuer needs --kubeconfig or --in-cluster',
    path: ['issuer'],
  })
  .refine((c) => !c.issuer || c.trustBundle, { message: 'give --trust-bundle FILE with --issuer: the roots certificates must chain to', path: ['issuer'] })
  .refine((c) => !c.trustBundle || c.issuer, { message: '--trust-bundle is for workload certificates: give --issuer too', path: ['trustBundle'] })
  .refine((c) => !c.xdsSecureAddress || c.issuer, {
    message: 'the secure xDS port serves certificates from cert-manager: give --issuer too',
    path: ['xdsSecureAddress'],
  })
  .refine((c) => !c.webhookAddress === !c.webhookCertDir, {
    message: 'the injection webhook needs both --webhook-address HOST:PORT and --webhook-cert-dir DIR',
    path: ['webhookAddress'],
  })
  .refine((c) => c.mtlsMode !== 'STRICT' || c.issuer, {
    message: 'STRICT needs workload certificates: give --issuer too (without them nothing is encrypted)',
    path: ['mtlsMode'],
  })
  .superRefine((c, ctx) => {
    const given = INJECTION_KEYS.find((k) => c[k] !== undefined);
    if (given && !c.webhookAddress) {
      ctx.addIssue({ code: 'custom', path: [given], message: 'a setting of the injection webhook: give --webhook-address and --webhook-cert-dir too' });
    }
  })
  .refine((c) => !(c.webhookAddress && c.manifests && (c.nativeSidecars ?? 'auto') === 'auto'), {
    message: "auto reads the API server's version, and with --manifests there is none: give --native-sidecars true or false",
    path: ['nativeSidecars'],
  });

/** The flags of the injection webhook's settings, which need --webhook-address. */
const INJECTION_KEYS = ['proxyImage', 'trellisImage', 'injectedXdsAddress', 'nativeSidecars', 'proxyResources'] as const;

/** Where the secure xDS port listens when --issuer is given and --xds-secure-address is not. */
export const DEFAULT_XDS_SECURE_ADDRESS = { host: '0.0.0.0', port: 15012 } as const;

export type ServeConfig = z.output<typeof serveConfigSchema>;

const OUTPUT_FLAG = { flag: 'output', short: 'o', help: 'text (for people) or json (for programs; see the README) [text]' } as const satisfies FlagSpec;
const output = z.enum(['text', 'json'], { error: 'expected text or json' }).default('text');

export const RENDER_FLAGS = {
  manifests: { flag: 'manifests', help: 'directory of Kubernetes manifests' },
  proxy: { flag: 'proxy', help: 'node id of the proxy, <pod>.<namespace>' },
  mode: { flag: 'mode', help: 'sidecar (an Envoy sidecar) or proxyless (a gRPC application) [sidecar]' },
  region: { flag: 'region', help: "the proxy's locality region, as its node would give it (optional; locality-aware load balancing depends on it)" },
  zone: { flag: 'zone', help: "the proxy's locality zone (optional)" },
  output: OUTPUT_FLAG,
  domain: SERVE_FLAGS.domain,
  trustDomain: SERVE_FLAGS.trustDomain,
  mtls: MTLS_OFFLINE_FLAG,
} as const satisfies Record<string, FlagSpec>;

export const renderConfigSchema = z.object({
  manifests: z.string().min(1, 'a manifests directory is required'),
  proxy: z.string().regex(/^[^.]+(\.[^.]+)*\.[a-z0-9-]+$/, 'expected <pod>.<namespace>'),
  mode: z.enum(['sidecar', 'proxyless']).default('sidecar'),
  region: z.string().min(1).optional(),
  zone: z.string().min(1).optional(),
  output,
  domain: dnsName.default('cluster.local'),
  trustDomain: dnsName.default('cluster.local'),
  mtls: mtlsOffline,
});

export type RenderConfig = z.output<typeof renderConfigSchema>;

export const VALIDATE_FLAGS = {
  manifests: { flag: 'manifests', help: 'a directory of Kubernetes manifests (files are named relative to it), besides or instead of PATHs' },
  output: OUTPUT_FLAG,
  domain: SERVE_FLAGS.domain,
  trustDomain: SERVE_FLAGS.trustDomain,
  mtls: MTLS_OFFLINE_FLAG,
} as const satisfies Record<string, FlagSpec>;

export const validateConfigSchema = z.object({
  manifests: z.string().min(1).optional(),
  output,
  domain: dnsName.default('cluster.local'),
  trustDomain: dnsName.default('cluster.local'),
  mtls: mtlsOffline,
});

export type ValidateConfig = z.output<typeof validateConfigSchema> & {
  /** Files, directories and `-` (stdin), as given on the command line. */
  readonly paths: readonly string[];
};

/** `trellis validate [PATH...] [--manifests DIR]`: at least one of them. */
export function loadValidateConfig(flags: Readonly<Record<string, string | undefined>>, paths: readonly string[]): ValidateConfig {
  const config = loadConfig(validateConfigSchema, VALIDATE_FLAGS, flags, {});
  if (config.manifests === undefined && paths.length === 0) throw new ConfigError('give the manifests: files, directories or - (stdin), or --manifests DIR');
  return { ...config, paths };
}

export const BOOTSTRAP_FLAGS = {
  mode: { flag: 'mode', help: 'sidecar (Envoy bootstrap, YAML) or proxyless (gRPC xDS bootstrap, JSON)' },
  pod: { flag: 'pod', env: 'POD_NAME', help: 'the pod name' },
  namespace: { flag: 'namespace', env: 'POD_NAMESPACE', help: 'the pod namespace' },
  ip: { flag: 'ip', env: 'INSTANCE_IP', help: 'the pod IP' },
  serviceAccount: { flag: 'service-account', env: 'SERVICE_ACCOUNT', help: 'the pod service account [default]' },
  manifestSettleMs: {
    flag: 'manifest-settle',
    env: 'TRELLIS_MANIFEST_SETTLE_MS',
    help: 'a manifest file written in place is taken once unchanged this long, ms (one replaced by rename at once) [500]',
  },
  xdsAddress: { flag: 'xds-address', env: 'TRELLIS_XDS_ADDRESS', help: 'HOST:PORT of Trellis as the proxy reaches it' },
  region: { flag: 'region', help: 'locality region (optional)' },
  zone: { flag: 'zone', help: 'locality zone (optional)' },
  xdsRootCert: {
    flag: 'xds-root-cert',
    help: "sidecar: reach Trellis's secure xDS port over TLS, verified against this trust bundle file (the trellis-ca-root-cert ConfigMap, mounted); the host of --xds-address is the name checked",
  },
  xdsTokenFile: {
    flag: 'xds-token-file',
    help: 'sidecar, with --xds-root-cert: the projected ServiceAccount token (audience trellis) sent to Trellis [/var/run/secrets/tokens/trellis-token]',
  },
  certDir: {
    flag: 'cert-dir',
    help: "proxyless: the directory of the workload's certificate files tls.crt, tls.key and ca.crt (cert-manager's csi-driver-spiffe layout), for mutual TLS",
  },
} as const satisfies Record<string, FlagSpec>;

export const DEFAULT_XDS_TOKEN_FILE = '/var/run/secrets/tokens/trellis-token';

export const bootstrapConfigSchema = z
  .object({
    mode: z.enum(['sidecar', 'proxyless']),
    pod: z.string().min(1),
    namespace: z.string().min(1),
    ip: z.string().min(1),
    serviceAccount: z.string().min(1).default('default'),
    xdsAddress: hostPort,
    region: z.string().optional(),
    zone: z.string().optional(),
    xdsRootCert: z.string().min(1).optional(),
    xdsTokenFile: z.string().min(1).optional(),
    certDir: z.string().min(1).optional(),
  })
  .refine((c) => !c.xdsRootCert || c.mode === 'sidecar', {
    message: 'a TLS xDS connection is for Envoy sidecars: gRPC (grpc-js-xds) reaches its xDS server in plaintext only',
    path: ['xdsRootCert'],
  })
  .refine((c) => !c.xdsTokenFile || c.xdsRootCert, { message: 'the token goes to the secure xDS port: give --xds-root-cert too', path: ['xdsTokenFile'] })
  .refine((c) => !c.certDir || c.mode === 'proxyless', {
    message: 'a certificate directory is for proxyless gRPC: Envoy sidecars receive their certificates over SDS',
    path: ['certDir'],
  })
  .transform(({ xdsRootCert, xdsTokenFile, ...rest }) => ({
    ...rest,
    ...(xdsRootCert ? { xdsTls: { rootCertFile: xdsRootCert, tokenFile: xdsTokenFile ?? DEFAULT_XDS_TOKEN_FILE } } : {}),
  }));

export const INJECT_FLAGS = {
  file: {
    flag: 'file',
    short: 'f',
    help: 'the YAML file of the objects to inject (Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs), or - for standard input',
  },
  nativeSidecar: {
    flag: 'native-sidecar',
    help: "true: Envoy is a native sidecar (an init container that keeps running; Kubernetes 1.29 or later), false: the first container; a Pod's trellis.dev/native-sidecar annotation wins [true]",
  },
  image: { flag: 'image', help: 'the Envoy image of the sidecar [envoyproxy/envoy:v1.34.1]' },
  trellisImage: { flag: 'trellis-image', help: "Trellis's image, which runs trellis capture in the init container [ghcr.io/trellis-mesh/trellis:0.1.0]" },
  xdsAddress: {
    flag: 'xds-address',
    help: 'HOST:PORT where sidecars reach Trellis [trellis.trellis-system.svc:15010, with --secure :15012]',
  },
  secure: {
    flag: 'secure',
    boolean: true,
    help: "sidecars reach Trellis's secure xDS port: TLS verified against the trellis-ca-root-cert ConfigMap, a projected token of audience trellis",
  },
} as const satisfies Record<string, FlagSpec>;

export const injectConfigSchema = z
  .object({
    file: z.string({ error: 'give the file to inject: -f FILE, or -f - for standard input' }).min(1),
    nativeSidecar: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true'),
    image: z.string().min(1).default(DEFAULT_ENVOY_IMAGE),
    trellisImage: z.string().min(1).default(DEFAULT_TRELLIS_IMAGE),
    xdsAddress: hostPort.optional(),
    secure: flagBoolean.default(false),
  })
  .transform((c) => ({
    file: c.file,
    nativeSidecars: c.nativeSidecar === 'true',
    envoyImage: c.image,
    trellisImage: c.trellisImage,
    secureXds: c.secure,
    xdsAddress: c.xdsAddress ?? defaultXdsAddress(DEFAULT_NAMESPACE, c.secure),
  }));

export type InjectConfig = z.output<typeof injectConfigSchema>;

export const CAPTURE_FLAGS = {
  proxyUid: { flag: 'proxy-uid', help: 'the UID Envoy runs as; its traffic is never captured [1337]' },
  excludeInboundPorts: { flag: 'exclude-inbound-ports', help: 'inbound ports never redirected to Envoy, e.g. 8080,9090' },
  excludeOutboundPorts: { flag: 'exclude-outbound-ports', help: 'outbound destination ports never redirected to Envoy, e.g. 5432' },
  excludeOutboundCidrs: {
    flag: 'exclude-outbound-cidrs',
    help: 'outbound destinations never redirected to Envoy, e.g. 10.0.0.0/8,fd00::/8 (IPv4 is captured; IPv6 is left alone)',
  },
  dryRun: { flag: 'dry-run', boolean: true, help: 'print the iptables-restore input instead of applying it' },
} as const satisfies Record<string, FlagSpec>;

/** A comma-separated list of `item`s, spaces around items allowed (the ruleset sorts them and drops duplicates). */
function commaList<T extends string | number>(item: z.ZodType<T>, expected: string) {
  return z
    .string()
    .transform((v, ctx) => {
      const items = v.split(',').map((s) => s.trim());
      const parsed = items.map((s) => item.safeParse(s));
      const bad = items.find((_, i) => !parsed[i]?.success);
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} is not allowed: expected ${expected}` });
        return z.NEVER;
      }
      return parsed.flatMap((r) => (r.success ? [r.data] : []));
    })
    .default([]);
}

const portNumber = z
  .string()
  .regex(/^\d{1,5}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(65535));

export const captureConfigSchema = z.object({
  proxyUid: z
    .string()
    .regex(/^\d{1,10}$/, 'expected a UID, e.g. 1337')
    .transform(Number)
    .pipe(z.number().int().min(0).max(4_294_967_294))
    .default(PROXY_UID),
  excludeInboundPorts: commaList(portNumber, 'comma-separated ports 1-65535, e.g. 8080,9090'),
  excludeOutboundPorts: commaList(portNumber, 'comma-separated ports 1-65535, e.g. 5432'),
  excludeOutboundCidrs: commaList(z.union([z.cidrv4(), z.cidrv6()]), 'comma-separated IPv4 or IPv6 CIDRs, e.g. 10.0.0.0/8,fd00::/8'),
  dryRun: flagBoolean.default(false),
});

export type CaptureConfig = z.output<typeof captureConfigSchema>;

export class ConfigError extends Error {}

/**
 * Builds a command's settings from parsed flags and, where a flag names one, the environment;
 * throws ConfigError with one line naming the flag.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  spec: Readonly<Record<string, FlagSpec>>,
  flags: Readonly<Record<string, string | undefined>>,
  env: NodeJS.ProcessEnv,
): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [key, f] of Object.entries(spec)) {
    const v = flags[f.flag] ?? (f.env ? env[f.env] : undefined);
    if (v !== undefined) raw[key] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const f = spec[key];
    const where = f ? `--${f.flag}${f.env ? ` (${f.env})` : ''}` : 'config';
    throw new ConfigError(`${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function loadServeConfig(flags: Readonly<Record<string, string | undefined>>, env: NodeJS.ProcessEnv): ServeConfig {
  return loadConfig(serveConfigSchema, SERVE_FLAGS, flags, env);
}
