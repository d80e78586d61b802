/**
 * `trellis validate` and `trellis render` with mutual TLS: `--mtls off` (the default) is Trellis
 * without workload certificates — a policy asking for STRICT is an error that validate prints, with
 * the policy's PartiallyInvalid condition, and exits 1 for; `--mtls STRICT|PERMISSIVE` is Trellis
 * with them (serve --issuer --mtls-mode), and render shows the mTLS a proxy would receive.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runRender, runValidate, type CommandIO } from '../../src/cli/offline.ts';
import { loadConfig, loadValidateConfig, RENDER_FLAGS, renderConfigSchema } from '../../src/config/config.ts';

const MESH = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.10, selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-abc, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [10.1.0.1], targetRef: { kind: Pod, name: web-1, namespace: shop } }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web, trellis.dev/tls-mode: mesh } }
spec: { serviceAccountName: web, containers: [{ name: app, ports: [{ name: http, containerPort: 8080 }] }] }
status: { podIP: 10.1.0.1 }
`;

const STRICT_POLICY = `
apiVersion: trellis.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: web-strict, namespace: shop }
spec:
  targetRefs: [{ group: "", kind: Service, name: web }]
  mtls: { mode: STRICT }
`;

const dirs: string[] = [];
function manifests(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-mtls-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A CommandIO that keeps what is written. */
function capture(): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: () => Promise.resolve('') },
    out: () => out,
    err: () => err,
  };
}

const STRICT_OFF =
  'STRICT cannot be enforced: workload certificates are off (Trellis runs without --issuer), so traffic to Service shop/web:80 stays plaintext';

describe('trellis validate', () => {
  it('without workload certificates (--mtls off, the default): a policy asking for STRICT is an error and PartiallyInvalid; exit 1', async () => {
    const dir = manifests({ 'mesh.yaml': MESH, 'policy.yaml': STRICT_POLICY });
    const c = capture();
    expect(await runValidate(loadValidateConfig({ manifests: dir }, []), c.io)).toBe(1);
    expect(c.out()).toMatch(/^error: policy\.yaml#1:\d+:\d+ TrafficPolicy shop\/web-strict: spec\.mtls\.mode: STRICT cannot be enforced/m);
    expect(c.out()).toContain(STRICT_OFF);
    expect(c.out()).toContain(`TrafficPolicy shop/web-strict: PartiallyInvalid=True (UnsupportedValue): spec.mtls.mode: ${STRICT_OFF}`);
    expect(c.out()).toContain('1 error(s), 0 warning(s)');
  });

  it('as with workload certificates (--mtls STRICT or PERMISSIVE): the same policy is fine', async () => {
    const dir = manifests({ 'mesh.yaml': MESH, 'policy.yaml': STRICT_POLICY });
    for (const mtls of ['STRICT', 'PERMISSIVE']) {
      const c = capture();
      expect(await runValidate(loadValidateConfig({ manifests: dir, mtls }, []), c.io), c.out()).toBe(0);
      expect(c.out()).not.toContain('PartiallyInvalid');
    }
  });

  it('says the same in JSON', async () => {
    const dir = manifests({ 'mesh.yaml': MESH, 'policy.yaml': STRICT_POLICY });
    const c = capture();
    expect(await runValidate(loadValidateConfig({ manifests: dir, output: 'json' }, []), c.io)).toBe(1);
    const report = JSON.parse(c.out()) as { policies: { conditions: { type: string; status: string; message: string }[] }[] };
    expect(report.policies[0]?.conditions.find((x) => x.type === 'PartiallyInvalid')).toMatchObject({
      status: 'True',
      message: `spec.mtls.mode: ${STRICT_OFF}`,
    });
  });
});

describe('trellis render', () => {
  const render = async (mtls?: string, mode = 'sidecar') => {
    const dir = manifests({ 'mesh.yaml': MESH });
    const c = capture();
    const flags = { manifests: dir, proxy: mode === 'sidecar' ? 'web-1.shop' : 'app.shop', mode, ...(mtls ? { mtls } : {}) };
    expect(await runRender(loadConfig(renderConfigSchema, RENDER_FLAGS, flags, {}), c.io)).toBe(0);
    return c.out();
  };

  it('without --mtls shows no mutual TLS at all', async () => {
    // (The header of the SDS document names the transport_sockets.tls package: look at the resources only.)
    expect(await render()).not.toMatch(/transport_socket(_matches)?:|tls_inspector|trellis.dev\/tls-mode/);
  });

  it('with --mtls PERMISSIVE shows the transport socket match, the endpoint metadata and the inbound tls_inspector', async () => {
    const out = await render('PERMISSIVE');
    expect(out).toContain('transport_socket_matches:');
    expect(out).toContain('envoy.transport_socket_match:');
    expect(out).toContain('envoy.filters.listener.tls_inspector');
    expect(out).toContain('name: inbound|8080||mtls');
  });

  it('with --mtls STRICT shows TLS for the cluster and the inbound chain, and the proxyless client’s certificate provider', async () => {
    const out = await render('STRICT');
    expect(out).toContain('sni: outbound_.80_._.web.shop.svc.cluster.local');
    expect(out).toContain('exact: spiffe://cluster.local/ns/shop/sa/web');
    expect(out).not.toContain('tls_inspector');
    expect(await render('STRICT', 'proxyless')).toContain('tls_certificate_provider_instance:');
  });
});
