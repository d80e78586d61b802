/**
 * Bootstraps: what a proxy starts with before it ever talks to Trellis. Two templates live in
 * envoy-bootstrap/ at the package root: sidecar.yaml (an Envoy Bootstrap) and proxyless.json (a
 * gRPC xDS bootstrap, gRFC A27). Both carry the node identity that src/translate/proxy.ts reads
 * back; renderBootstrap fills their `${NAME}` placeholders for one pod. What the templates share
 * with translation (the node.metadata keys, the sidecar's ports, the server listener template)
 * comes from src/envoy/contract.ts: the templates take it as placeholders, never as literals.
 *
 * Substitution is explicit and small: the template is parsed first and placeholders are replaced
 * inside string values only, so a value can never change the document's structure. A value that is
 * exactly one placeholder takes the placeholder's type (XDS_PORT is a number, NODE_METADATA a
 * mapping whose keys and values are strings the renderer made); a placeholder the renderer does not
 * know, a mapping inside a longer text, or a `${` left over, is an error.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, visit, type Document, type Node, type Scalar } from 'yaml';
import { CERTIFICATE_PROVIDER_INSTANCE, NODE_METADATA, SERVER_LISTENER_TEMPLATE, SIDECAR_PORTS, type ProxyMode } from '../envoy/contract.js';
import { hostPort } from '../host-port.js';
import { probeResources, type AppProbe } from './probes.js';

export type { AppProbe, AppProbeCheck } from './probes.js';

/** envoy-bootstrap/ at the repository (package) root. */
export const bootstrapDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../envoy-bootstrap');

export const BOOTSTRAP_TEMPLATES: Readonly<Record<ProxyMode, string>> = {
  sidecar: 'sidecar.yaml',
  proxyless: 'proxyless.json',
};

export interface BootstrapOptions {
  readonly mode: ProxyMode;
  /** Where proxies reach Trellis's ADS server. */
  readonly xdsAddress: { readonly host: string; readonly port: number };
  readonly namespace: string;
  readonly pod: string;
  readonly ip: string;
  readonly serviceAccount: string;
  readonly region?: string;
  readonly zone?: string;
  /**
   * Sidecars: reach Trellis's secure xDS port over TLS, verifying it against this trust bundle, and
   * authenticate with the ServiceAccount token in `tokenFile` (a projected token of audience trellis).
   */
  readonly xdsTls?: { readonly rootCertFile: string; readonly tokenFile: string };
  /**
   * Proxyless gRPC: the directory its workload certificate is mounted in (tls.crt, tls.key, ca.crt,
   * the layout of cert-manager's csi-driver-spiffe), read by gRPC's `file_watcher` certificate provider.
   */
  readonly certDir?: string;
  /**
   * Sidecars: the application's probes, rewritten by injection to the probe port (15020), routed by
   * static resources to the application on 127.0.0.1 (see probes.ts). None: no probe listener.
   */
  readonly appProbes?: readonly AppProbe[];
}

/** How often gRPC's file_watcher re-reads the certificate files. */
export const CERT_REFRESH_INTERVAL = '60s';

export interface RenderedBootstrap {
  /** YAML for a sidecar, JSON for proxyless gRPC. */
  readonly text: string;
  readonly object: Record<string, unknown>;
}

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

/** A placeholder's value: text, a number, or (only as a whole value) a mapping of strings. */
type Value = string | number | Readonly<Record<string, string>>;

function check(opts: BootstrapOptions): void {
  for (const key of ['namespace', 'pod', 'ip', 'serviceAccount'] as const) {
    if (!opts[key]) throw new BootstrapError(`bootstrap: ${key} must not be empty`);
  }
  const { host, port } = opts.xdsAddress;
  if (!host) throw new BootstrapError('bootstrap: xdsAddress.host must not be empty');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BootstrapError(`bootstrap: xdsAddress.port ${port} is not a port`);
  if (opts.xdsTls && opts.mode !== 'sidecar') {
    throw new BootstrapError('bootstrap: a TLS xDS connection is for Envoy sidecars: gRPC (grpc-js-xds) reaches its xDS server in plaintext only');
  }
  if (opts.certDir !== undefined && opts.mode !== 'proxyless') {
    throw new BootstrapError('bootstrap: a certificate directory is for proxyless gRPC: Envoy sidecars receive their certificates over SDS');
  }
  if (opts.appProbes?.length && opts.mode !== 'sidecar') throw new BootstrapError('bootstrap: probe routes are for Envoy sidecars');
  for (const p of opts.appProbes ?? []) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new BootstrapError(`bootstrap: probe ${p.path}: port ${p.port} is not a port`);
  }
}

/** The probe listener and its clusters join the template's static resources. */
function useAppProbes(doc: Document, probes: readonly AppProbe[]): void {
  const { listeners, clusters } = probeResources(probes, SIDECAR_PORTS.probes);
  for (const l of listeners) doc.addIn(['static_resources', 'listeners'], doc.createNode(l));
  for (const c of clusters) doc.addIn(['static_resources', 'clusters'], doc.createNode(c));
}

/**
 * The ADS service of a sidecar on the secure port: Envoy's Google gRPC client, TLS verified against
 * the trust bundle (the server's name is the host of the xDS address, e.g. trellis.trellis-system.svc),
 * and the token read from its file by the file-based metadata plugin for each stream, so a token the
 * kubelet renews is picked up.
 */
function secureAdsService(opts: BootstrapOptions, tls: NonNullable<BootstrapOptions['xdsTls']>): Record<string, unknown> {
  return {
    google_grpc: {
      target_uri: hostPort(opts.xdsAddress.host, opts.xdsAddress.port),
      stat_prefix: 'trellis_xds',
      channel_credentials: { ssl_credentials: { root_certs: { filename: tls.rootCertFile } } },
      call_credentials: [
        {
          from_plugin: {
            name: 'envoy.grpc_credentials.file_based_metadata',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.config.grpc_credential.v3.FileBasedMetadataConfig',
              secret_data: { filename: tls.tokenFile },
              header_key: 'authorization',
              header_prefix: 'Bearer ',
            },
          },
        },
      ],
      credentials_factory_name: 'envoy.grpc_credentials.file_based_metadata',
    },
  };
}

/** The template's plaintext ADS service (a static cluster) becomes the secure one; the static cluster goes. */
function useSecureXds(doc: Document, opts: BootstrapOptions, tls: NonNullable<BootstrapOptions['xdsTls']>): void {
  doc.setIn(['dynamic_resources', 'ads_config', 'grpc_services'], doc.createNode([secureAdsService(opts, tls)]));
  const clusters = doc.getIn(['static_resources', 'clusters']) as { items: { get(key: string): unknown }[] } | undefined;
  const index = clusters?.items.findIndex((c) => c.get('name') === XDS_CLUSTER) ?? -1;
  if (index < 0) throw new BootstrapError(`envoy-bootstrap/sidecar.yaml: no static cluster ${XDS_CLUSTER} to replace`);
  doc.deleteIn(['static_resources', 'clusters', index]);
}

/** gRFC A29: the certificate provider instance that translation's TLS contexts name, reading the mounted files. */
function useCertificateFiles(doc: Document, dir: string): void {
  const file = (name: string) => `${dir.replace(/\/+$/, '')}/${name}`;
  doc.set(
    'certificate_providers',
    doc.createNode({
      [CERTIFICATE_PROVIDER_INSTANCE]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: file('tls.crt'),
          private_key_file: file('tls.key'),
          ca_certificate_file: file('ca.crt'),
          refresh_interval: CERT_REFRESH_INTERVAL,
        },
      },
    }),
  );
}

/** The name of the plaintext template's static cluster for Trellis. */
const XDS_CLUSTER = 'xds-grpc';

/** node.metadata: every key of the contract, in its order, with this pod's value. */
function nodeMetadata(opts: BootstrapOptions): Record<string, string> {
  const value: Record<keyof typeof NODE_METADATA, string> = {
    mode: opts.mode,
    namespace: opts.namespace,
    pod: opts.pod,
    ip: opts.ip,
    serviceAccount: opts.serviceAccount,
  };
  return Object.fromEntries(Object.entries(NODE_METADATA).map(([field, key]) => [key, value[field as keyof typeof NODE_METADATA]]));
}

/** The value of every placeholder the templates may use. */
export function bootstrapValues(opts: BootstrapOptions): Readonly<Record<string, Value>> {
  check(opts);
  return {
    NODE_ID: `${opts.pod}.${opts.namespace}`,
    NODE_CLUSTER: `${opts.serviceAccount}.${opts.namespace}`,
    NODE_METADATA: nodeMetadata(opts),
    REGION: opts.region ?? '',
    ZONE: opts.zone ?? '',
    XDS_HOST: opts.xdsAddress.host,
    XDS_PORT: opts.xdsAddress.port,
    XDS_ADDRESS: hostPort(opts.xdsAddress.host, opts.xdsAddress.port),
    SERVER_LISTENER_TEMPLATE,
    ADMIN_PORT: SIDECAR_PORTS.admin,
    STATS_PORT: SIDECAR_PORTS.stats,
    HEALTH_PORT: SIDECAR_PORTS.health,
  };
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]*)\}/g;
const WHOLE = /^\$\{([A-Za-z0-9_]*)\}$/;

/** Fills the placeholders of one string value. */
export function substitute(text: string, values: Readonly<Record<string, Value>>, where = 'template'): Value {
  const lookup = (name: string): Value => {
    const v = values[name];
    if (v === undefined) throw new BootstrapError(`${where}: unknown placeholder \${${name}}`);
    return v;
  };
  const whole = WHOLE.exec(text);
  if (whole) return lookup(whole[1] ?? '');
  const out = text.replace(PLACEHOLDER, (_m, name: string) => {
    const v = lookup(name);
    if (typeof v === 'object') throw new BootstrapError(`${where}: \${${name}} is a mapping: it must be a whole value, not part of "${text}"`);
    return String(v);
  });
  if (out.includes('${')) throw new BootstrapError(`${where}: malformed placeholder in "${text}"`);
  return out;
}

/** Fills every placeholder in the string values of a parsed template, in place; a mapping replaces its scalar. */
function fill(doc: Document, values: Readonly<Record<string, Value>>, where: string): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return undefined;
      const value = substitute(node.value, values, where);
      if (typeof value === 'object') return mappingLike(doc, value, node);
      node.value = value;
      return undefined;
    },
  });
}

/** A mapping node whose strings are written in the style of the placeholder scalar it replaces. */
function mappingLike(doc: Document, value: Readonly<Record<string, string>>, placeholder: Scalar): Node {
  const map = doc.createNode(value);
  visit(map, {
    Scalar(_key, node) {
      if (placeholder.type !== undefined) node.type = placeholder.type;
    },
  });
  return map;
}

const templates = new Map<ProxyMode, string>();

function template(mode: ProxyMode): string {
  let text = templates.get(mode);
  if (text === undefined) {
    text = readFileSync(resolve(bootstrapDir, BOOTSTRAP_TEMPLATES[mode]), 'utf8');
    templates.set(mode, text);
  }
  return text;
}

/** Renders a bootstrap from its template text (exported for tests of the substitution itself); `amend` edits the filled document. */
export function renderTemplate(
  text: string,
  values: Readonly<Record<string, Value>>,
  format: 'yaml' | 'json',
  where = 'template',
  amend?: (doc: Document) => void,
): RenderedBootstrap {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new BootstrapError(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
  fill(doc, values, where);
  amend?.(doc);
  const object = doc.toJS() as unknown;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new BootstrapError(`${where}: not a mapping`);
  const record = object as Record<string, unknown>;
  return { text: format === 'json' ? `${JSON.stringify(record, null, 2)}\n` : doc.toString(), object: record };
}

/** The bootstrap of one pod's proxy: an Envoy Bootstrap (YAML) or a gRPC xDS bootstrap (JSON). */
export function renderBootstrap(opts: BootstrapOptions): RenderedBootstrap {
  const file = BOOTSTRAP_TEMPLATES[opts.mode];
  const { xdsTls, certDir, appProbes } = opts;
  return renderTemplate(template(opts.mode), bootstrapValues(opts), opts.mode === 'sidecar' ? 'yaml' : 'json', `envoy-bootstrap/${file}`, (doc) => {
    if (xdsTls) useSecureXds(doc, opts, xdsTls);
    if (certDir !== undefined) useCertificateFiles(doc, certDir);
    if (appProbes && appProbes.length > 0) useAppProbes(doc, appProbes);
  });
}
