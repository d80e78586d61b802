/**
 * The injection webhook's flags of `trellis serve`: images, the address injected sidecars reach
 * Trellis at, native sidecars and the sidecar's resources; what they make of the settings injection
 * runs with; and a clear line naming the flag for each bad value.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServeConfig } from '../../src/config/config.ts';
import { quantityValue } from '../../src/config/injection.ts';
import { DEFAULT_SETTINGS } from '../../src/inject/index.ts';
import { injectionSettings, nativeByFlag } from '../../src/pipeline/injection.ts';

const WEBHOOK = { 'webhook-address': '0.0.0.0:15017', 'webhook-cert-dir': '/certs' };
const CLUSTER = { 'in-cluster': 'true', ...WEBHOOK };
const CERTS = { issuer: 'trellis-ca', 'trust-bundle': '/etc/trellis/root-cert.pem' };
const NATIVE = { native: true, reason: 'API server v1.32 >= 1.29' };

describe('serve: the injection settings', () => {
  it('reads each flag, and its environment variable', () => {
    const flags = {
      ...CLUSTER,
      'proxy-image': 'registry.example.com:5000/mesh/envoy:v1.34.1',
      'trellis-image': 'ghcr.io/trellis-mesh/trellis@sha256:' + 'a'.repeat(64),
      'injected-xds-address': 'trellis.mesh.svc:15010',
      'native-sidecars': 'false',
      'proxy-resources': '{"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}',
    };
    expect(loadServeConfig(flags, {})).toMatchObject({
      proxyImage: 'registry.example.com:5000/mesh/envoy:v1.34.1',
      trellisImage: `ghcr.io/trellis-mesh/trellis@sha256:${'a'.repeat(64)}`,
      injectedXdsAddress: { host: 'trellis.mesh.svc', port: 15010 },
      nativeSidecars: 'false',
      proxyResources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
    });
    const env = {
      TRELLIS_PROXY_IMAGE: 'envoyproxy/envoy:v1.35.0',
      TRELLIS_IMAGE: 'trellis:dev',
      TRELLIS_INJECTED_XDS_ADDRESS: '[fd00::1]:15012',
      TRELLIS_NATIVE_SIDECARS: 'true',
      TRELLIS_PROXY_RESOURCES: '{"limits": {"cpu": "1", "memory": "1Gi"}}',
    };
    expect(loadServeConfig(CLUSTER, env)).toMatchObject({
      proxyImage: 'envoyproxy/envoy:v1.35.0',
      trellisImage: 'trellis:dev',
      injectedXdsAddress: { host: 'fd00::1', port: 15012 },
      nativeSidecars: 'true',
      proxyResources: { limits: { cpu: '1', memory: '1Gi' } },
    });
    expect(loadServeConfig({ ...CLUSTER, 'proxy-image': 'envoy:flag' }, env).proxyImage).toBe('envoy:flag');
  });

  it('injects with the defaults unless told: the pinned Envoy, plaintext xDS at trellis.<lease namespace>.svc:15010', () => {
    const c = loadServeConfig({ ...CLUSTER, 'lease-namespace': 'mesh' }, {});
    expect(nativeByFlag(c)).toBeUndefined();
    expect(injectionSettings(c, NATIVE)).toEqual({
      settings: { ...DEFAULT_SETTINGS, xdsAddress: { host: 'trellis.mesh.svc', port: 15010 }, secureXds: false, nativeSidecars: true },
      nativeReason: 'API server v1.32 >= 1.29',
    });
  });

  it('sends injected sidecars to the secure port with TLS and a token when serve has --issuer', () => {
    const c = loadServeConfig({ ...CLUSTER, ...CERTS }, {});
    expect(injectionSettings(c, NATIVE).settings).toMatchObject({ xdsAddress: { host: 'trellis.trellis-system.svc', port: 15012 }, secureXds: true });
    const given = loadServeConfig({ ...CLUSTER, ...CERTS, 'injected-xds-address': 'xds.example.com:443' }, {});
    expect(injectionSettings(given, NATIVE).settings).toMatchObject({ xdsAddress: { host: 'xds.example.com', port: 443 }, secureXds: true });
  });

  it('takes --native-sidecars true|false as the decision, and says so', () => {
    expect(nativeByFlag(loadServeConfig({ ...CLUSTER, 'native-sidecars': 'false' }, {}))).toEqual({ native: false, reason: '--native-sidecars false' });
    expect(nativeByFlag(loadServeConfig({ manifests: 'm', ...WEBHOOK, 'native-sidecars': 'true' }, {}))).toEqual({
      native: true,
      reason: '--native-sidecars true',
    });
  });

  it('replaces the default resources with --proxy-resources', () => {
    const c = loadServeConfig({ ...CLUSTER, 'proxy-resources': '{"requests": {"cpu": "0.25"}}' }, {});
    expect(injectionSettings(c, NATIVE).settings.proxyResources).toEqual({ requests: { cpu: '0.25' } });
  });

  it.each([
    [{ 'proxy-image': 'Envoy Proxy' }, '--proxy-image (TRELLIS_PROXY_IMAGE): expected an image reference'],
    [{ 'trellis-image': 'trellis:' }, '--trellis-image (TRELLIS_IMAGE): expected an image reference'],
    [{ 'injected-xds-address': 'trellis.mesh.svc' }, '--injected-xds-address (TRELLIS_INJECTED_XDS_ADDRESS): expected HOST:PORT'],
    [{ 'native-sidecars': 'yes' }, '--native-sidecars (TRELLIS_NATIVE_SIDECARS): expected auto, true or false'],
    [{ 'proxy-resources': '{requests: {}}' }, '--proxy-resources (TRELLIS_PROXY_RESOURCES): not JSON'],
    [{ 'proxy-resources': '{"requests": {"cpu": "lots"}}' }, '--proxy-resources (TRELLIS_PROXY_RESOURCES): requests.cpu is not a Kubernetes quantity'],
    [{ 'proxy-resources': '{"limits": {"memory": 128}}' }, '--proxy-resources (TRELLIS_PROXY_RESOURCES): limits.memory'],
    [{ 'proxy-resources': '{"requests": {}, "limit": {}}' }, '--proxy-resources (TRELLIS_PROXY_RESOURCES): unknown field(s) limit: only requests and limits'],
    [{ 'proxy-resources': '["100m"]' }, '--proxy-resources (TRELLIS_PROXY_RESOURCES):'],
    [
      { 'proxy-resources': '{"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}' },
      '--proxy-resources (TRELLIS_PROXY_RESOURCES): requests.memory 2Gi is more than limits.memory 1Gi',
    ],
  ])('says which injection flag is wrong: %j', (flags, message) => {
    expect(() => loadServeConfig({ ...CLUSTER, ...flags }, {})).toThrow(ConfigError);
    expect(() => loadServeConfig({ ...CLUSTER, ...flags }, {})).toThrow(message);
  });

  it.each([
    ['proxy-image', 'envoyproxy/envoy:v1.34.1', '--proxy-image (TRELLIS_PROXY_IMAGE)'],
    ['trellis-image', 'trellis:dev', '--trellis-image (TRELLIS_IMAGE)'],
    ['injected-xds-address', 'trellis.mesh.svc:15010', '--injected-xds-address (TRELLIS_INJECTED_XDS_ADDRESS)'],
    ['native-sidecars', 'true', '--native-sidecars (TRELLIS_NATIVE_SIDECARS)'],
    ['proxy-resources', '{}', '--proxy-resources (TRELLIS_PROXY_RESOURCES)'],
  ])('refuses --%s without the webhook', (flag, value, where) => {
    expect(() => loadServeConfig({ 'in-cluster': 'true', [flag]: value }, {})).toThrow(
      `${where}: a setting of the injection webhook: give --webhook-address and --webhook-cert-dir too`,
    );
  });

  it('refuses --native-sidecars auto (the default) with --manifests: there is no API server to ask', () => {
    const message = "--native-sidecars (TRELLIS_NATIVE_SIDECARS): auto reads the API server's version, and with --manifests there is none";
    expect(() => loadServeConfig({ manifests: 'm', ...WEBHOOK }, {})).toThrow(message);
    expect(() => loadServeConfig({ manifests: 'm', ...WEBHOOK, 'native-sidecars': 'auto' }, {})).toThrow(message);
    expect(loadServeConfig({ manifests: 'm' }, {}).nativeSidecars).toBeUndefined();
  });

  it.each([
    ['100m', 0.1],
    ['0.5', 0.5],
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['.5Ki', 512],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1x', undefined],
    ['-1', undefined],
    ['', undefined],
    ['Mi', undefined],
  ])('reads the quantity %j as %s', (text, value) => {
    expect(quantityValue(text)).toBe(value);
  });
});
