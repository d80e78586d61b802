import { describe, expect, it } from 'vitest';
import {
  bootstrapConfigSchema,
  BOOTSTRAP_FLAGS,
  ConfigError,
  loadConfig,
  loadServeConfig,
  loadValidateConfig,
  RENDER_FLAGS,
  renderConfigSchema,
} from '../../src/config/config.ts';

describe('serve configuration', () => {
  it('has defaults for everything but the manifests', () => {
    expect(loadServeConfig({ manifests: 'mesh' }, {})).toEqual({
      manifests: 'mesh',
      inCluster: false,
      leaseNamespace: 'trellis-system',
      xdsAddress: { host: '127.0.0.1', port: 15010 },
      debugAddress: { host: '127.0.0.1', port: 15014 },
      debounceMinMs: 100,
      debounceMaxMs: 1000,
      classGraceMs: 30_000,
      manifestSettleMs: 500,
      manifestMaxBytes: 16 * 1024 * 1024,
      domain: 'cluster.local',
      trustDomain: 'cluster.local',
      certDuration: 24 * 3600,
      certRequestTimeout: 60,
      mtlsMode: 'PERMISSIVE',
      logLevel: 'info',
    });
  });

  it('reads the injection webhook flags: address and certificate directory', () => {
    const c = loadServeConfig(
      { manifests: 'm', 'webhook-address': '0.0.0.0:15017', 'native-sidecars': 'true' },
      { TRELLIS_WEBHOOK_CERT_DIR: '/var/run/webhook' },
    );
    expect(c.webhookAddress).toEqual({ host: '0.0.0.0', port: 15017 });
    expect(c.webhookCertDir).toBe('/var/run/webhook');
  });

  it('takes environment variables, and flags over them', () => {
    const c = loadServeConfig({ 'xds-address': '[::1]:9000' }, { TRELLIS_MANIFESTS: 'env-mesh', TRELLIS_XDS_ADDRESS: '0.0.0.0:1' });
    expect(c.manifests).toBe('env-mesh');
    expect(c.xdsAddress).toEqual({ host: '::1', port: 9000 });
  });

  it.each([
    [{ manifests: 'm', 'xds-address': 'nope' }, '--xds-address (TRELLIS_XDS_ADDRESS): expected HOST:PORT'],
    [{ manifests: 'm', 'debug-address': 'h:70000' }, '--debug-address (TRELLIS_DEBUG_ADDRESS): port must be at most 65535'],
    [{ manifests: 'm', 'debounce-min': '500', 'debounce-max': '100' }, '--debounce-min (TRELLIS_DEBOUNCE_MIN_MS): debounce min must not exceed max'],
    [{ manifests: 'm', 'log-level': 'loud' }, '--log-level (TRELLIS_LOG_LEVEL):'],
    [{ manifests: 'm', domain: 'Not A Domain' }, '--domain (TRELLIS_DOMAIN): expected a DNS name'],
    [{}, '--manifests (TRELLIS_MANIFESTS): give exactly one source: --manifests DIR, --kubeconfig FILE or --in-cluster'],
    [{ manifests: 'm', kubeconfig: 'k' }, 'give exactly one source'],
    [
      { kubeconfig: 'k', namespaces: 'a,b', 'namespace-selector': 'mesh=on' },
      '--namespaces (TRELLIS_NAMESPACES): give --namespaces or --namespace-selector, not both',
    ],
    [{ manifests: 'm', 'webhook-address': '0.0.0.0:15017' }, '--webhook-address (TRELLIS_WEBHOOK_ADDRESS): the injection webhook needs both'],
    [{ manifests: 'm', 'webhook-cert-dir': '/certs' }, 'needs both --webhook-address HOST:PORT and --webhook-cert-dir DIR'],
  ])('says which flag is wrong in one line: %j', (flags, message) => {
    expect(() => loadServeConfig(flags, {})).toThrow(ConfigError);
    expect(() => loadServeConfig(flags, {})).toThrow(message);
  });
});

describe('serve against a cluster', () => {
  it('reads the cluster flags: kubeconfig, namespaces, lease and identity', () => {
    const c = loadServeConfig({ kubeconfig: 'kc.yaml', namespaces: 'shop, payments' }, { POD_NAME: 'trellis-0', POD_NAMESPACE: 'mesh-system' });
    expect(c).toMatchObject({
      kubeconfig: 'kc.yaml',
      namespaces: ['shop', 'payments'],
      identity: 'trellis-0',
      leaseNamespace: 'mesh-system',
      inCluster: false,
    });
    expect(loadServeConfig({ 'in-cluster': 'true' }, {}).inCluster).toBe(true);
  });

  it('reads the certificate flags: issuer, trust bundle, lifetime and request timeout', () => {
    const flags = { 'in-cluster': 'true', issuer: 'trellis-ca', 'trust-bundle': '/etc/trellis/root-cert.pem' };
    expect(loadServeConfig(flags, {})).toMatchObject({
      issuer: { kind: 'ClusterIssuer', name: 'trellis-ca', group: 'cert-manager.io' },
      trustBundle: '/etc/trellis/root-cert.pem',
      certDuration: 86_400,
      certRequestTimeout: 60,
    });
    const c = loadServeConfig({ ...flags, issuer: 'Issuer/mesh-ca/example.io', 'cert-duration': '1h30m', 'cert-request-timeout': '2m' }, {});
    expect(c).toMatchObject({ issuer: { kind: 'Issuer', name: 'mesh-ca', group: 'example.io' }, certDuration: 5400, certRequestTimeout: 120 });
    expect(loadServeConfig({ 'in-cluster': 'true' }, {}).issuer).toBeUndefined();
  });

  it.each([
    [{ manifests: 'm', issuer: 'ca', 'trust-bundle': 'b' }, '--issuer (TRELLIS_ISSUER): workload certificates come from cert-manager in a cluster'],
    [{ kubeconfig: 'k', issuer: 'ca' }, '--issuer (TRELLIS_ISSUER): give --trust-bundle FILE with --issuer'],
    [{ kubeconfig: 'k', 'trust-bundle': 'b' }, '--trust-bundle (TRELLIS_TRUST_BUNDLE): --trust-bundle is for workload certificates: give --issuer too'],
    [{ kubeconfig: 'k', issuer: 'a/b/c/d', 'trust-bundle': 'b' }, '--issuer (TRELLIS_ISSUER): expected [KIND/]NAME[/GROUP]'],
    [
      { kubeconfig: 'k', issuer: 'ca', 'trust-bundle': 'b', 'cert-duration': '30s' },
      '--cert-duration (TRELLIS_CERT_DURATION): a certificate must live at least 1m',
    ],
    [{ kubeconfig: 'k', issuer: 'ca', 'trust-bundle': 'b', 'cert-duration': '1d' }, '--cert-duration (TRELLIS_CERT_DURATION): expected a duration such as 24h'],
    [
      { kubeconfig: 'k', 'mtls-mode': 'STRICT' },
      '--mtls-mode (TRELLIS_MTLS_MODE): STRICT needs workload certificates: give --issuer too (without them nothing is encrypted)',
    ],
    [{ kubeconfig: 'k', issuer: 'ca', 'trust-bundle': 'b', 'mtls-mode': 'strict' }, '--mtls-mode (TRELLIS_MTLS_MODE): expected STRICT or PERMISSIVE'],
  ])('says which certificate flag is wrong: %j', (flags, message) => {
    expect(() => loadServeConfig(flags, {})).toThrow(message);
  });

  it('reads --mtls-mode (TRELLIS_MTLS_MODE): PERMISSIVE unless told, STRICT only with workload certificates', () => {
    const certs = { 'in-cluster': 'true', issuer: 'trellis-ca', 'trust-bundle': '/etc/trellis/root-cert.pem' };
    expect(loadServeConfig(certs, {}).mtlsMode).toBe('PERMISSIVE');
    expect(loadServeConfig(certs, { TRELLIS_MTLS_MODE: 'STRICT' }).mtlsMode).toBe('STRICT');
    expect(loadServeConfig({ ...certs, 'mtls-mode': 'PERMISSIVE' }, { TRELLIS_MTLS_MODE: 'STRICT' }).mtlsMode).toBe('PERMISSIVE');
    // Without certificates PERMISSIVE is what everything is anyway (plaintext accepted); STRICT would be a lie.
    expect(loadServeConfig({ manifests: 'm', 'mtls-mode': 'PERMISSIVE' }, {}).mtlsMode).toBe('PERMISSIVE');
    expect(() => loadServeConfig({ manifests: 'm' }, { TRELLIS_MTLS_MODE: 'STRICT' })).toThrow('STRICT needs workload certificates');
  });
});

describe('other commands', () => {
  it('reads render flags, with sidecar as the default mode', () => {
    expect(loadConfig(renderConfigSchema, RENDER_FLAGS, { manifests: 'm', proxy: 'web-1.shop' }, {})).toMatchObject({ proxy: 'web-1.shop', mode: 'sidecar' });
    expect(() => loadConfig(renderConfigSchema, RENDER_FLAGS, { manifests: 'm', proxy: 'web-1' }, {})).toThrow('--proxy: expected <pod>.<namespace>');
  });

  it('reads --mtls for render and validate: STRICT or PERMISSIVE as with workload certificates, off (the default) as without', () => {
    const render = (mtls?: string) => loadConfig(renderConfigSchema, RENDER_FLAGS, { manifests: 'm', proxy: 'web-1.shop', ...(mtls ? { mtls } : {}) }, {}).mtls;
    expect([render(), render('STRICT'), render('PERMISSIVE'), render('off')]).toEqual(['off', 'STRICT', 'PERMISSIVE', 'off']);
    expect(() => render('on')).toThrow('--mtls: expected STRICT, PERMISSIVE or off');
    expect(loadValidateConfig({ mtls: 'STRICT' }, ['a.yaml']).mtls).toBe('STRICT');
    expect(loadValidateConfig({}, ['a.yaml']).mtls).toBe('off');
  });

  it('reads -o text|json for render and validate, text by default', () => {
    expect(loadConfig(renderConfigSchema, RENDER_FLAGS, { manifests: 'm', proxy: 'web-1.shop' }, {}).output).toBe('text');
    expect(loadValidateConfig({ output: 'json' }, ['a.yaml', '-'])).toMatchObject({ output: 'json', paths: ['a.yaml', '-'] });
    expect(() => loadValidateConfig({ manifests: 'm', output: 'yaml' }, [])).toThrow('--output: expected text or json');
  });

  it('takes validate paths, --manifests DIR, or both, but not neither', () => {
    expect(loadValidateConfig({ manifests: 'm' }, [])).toMatchObject({ manifests: 'm', paths: [] });
    expect(loadValidateConfig({ manifests: 'm' }, ['x'])).toMatchObject({ manifests: 'm', paths: ['x'] });
    expect(() => loadValidateConfig({}, [])).toThrow(ConfigError);
  });

  it('reads the secure xDS flags of a sidecar bootstrap and the certificate directory of a proxyless one', () => {
    const base = { 'xds-address': 'trellis.trellis-system.svc:15012', pod: 'web-1', namespace: 'shop', ip: '10.0.0.1' };
    const sidecar = loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, { ...base, mode: 'sidecar', 'xds-root-cert': '/etc/trellis/root-cert.pem' }, {});
    expect(sidecar).toMatchObject({ xdsTls: { rootCertFile: '/etc/trellis/root-cert.pem', tokenFile: '/var/run/secrets/tokens/trellis-token' } });
    const proxyless = loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, { ...base, mode: 'proxyless', 'cert-dir': '/certs' }, {});
    expect(proxyless).toMatchObject({ certDir: '/certs' });
    expect(proxyless).not.toHaveProperty('xdsTls');
    expect(() => loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, { ...base, mode: 'proxyless', 'xds-root-cert': 'r' }, {})).toThrow(
      '--xds-root-cert: a TLS xDS connection is for Envoy sidecars',
    );
    expect(() => loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, { ...base, mode: 'sidecar', 'xds-token-file': 't' }, {})).toThrow(
      '--xds-token-file: the token goes to the secure xDS port: give --xds-root-cert too',
    );
    expect(() => loadConfig(bootstrapConfigSchema, BOOTSTRAP_FLAGS, { ...base, mode: 'sidecar', 'cert-dir': '/certs' }, {})).toThrow(
      '--cert-dir: a certificate directory is for proxyless gRPC',
    );
  });

  it('reads bootstrap settings from the pod environment when flags are absent', () => {
    const c = loadConfig(
      bootstrapConfigSchema,
      BOOTSTRAP_FLAGS,
      { mode: 'sidecar', 'xds-address': 'trellis.trellis-system:15010' },
      { POD_NAME: 'web-1', POD_NAMESPACE: 'shop', INSTANCE_IP: '10.0.0.1' },
    );
    expect(c).toEqual({
      mode: 'sidecar',
      pod: 'web-1',
      namespace: 'shop',
      ip: '10.0.0.1',
      serviceAccount: 'default',
      xdsAddress: { host: 'trellis.trellis-system', port: 15010 },
    });
  });
});
