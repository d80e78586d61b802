/** The injected containers, the status annotation, idempotence and purity, beyond what the golden files show. */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT_CERT_CONFIGMAP as PUBLISHED_CONFIGMAP, ROOT_CERT_KEY as PUBLISHED_KEY } from '../../src/certs/publish.ts';
import { DEFAULT_XDS_TOKEN_FILE } from '../../src/config/config.ts';
import {
  DEFAULT_SETTINGS,
  inject,
  injectionStatus,
  ROOT_CERT_CONFIGMAP,
  ROOT_CERT_DIR,
  ROOT_CERT_KEY,
  TOKEN_DIR,
  TOKEN_PATH,
  type Container,
  type InjectSettings,
  type PodLike,
} from '../../src/inject/index.ts';
import { frozen } from './support.ts';

const OPTED_IN = { 'trellis.dev/inject': 'enabled' };

const APP: PodLike = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cart', namespace: 'shop' },
  spec: {
    containers: [
      {
        name: 'cart',
        image: 'ghcr.io/example/cart:1.4.2',
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 3 },
        livenessProbe: { exec: { command: ['true'] } },
      },
    ],
  },
};

function injected(pod: PodLike = APP, settings: InjectSettings = DEFAULT_SETTINGS): PodLike {
  const result = inject(frozen(pod), OPTED_IN, settings);
  if (result.kind !== 'injected') throw new Error(`not injected: ${JSON.stringify(result)}`);
  return result.pod;
}

function container(pod: PodLike, name: string): Container {
  const found = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function bootstrapOf(proxy: Container): Record<string, unknown> {
  const args = proxy.args as string[];
  expect(args.slice(0, 3)).toEqual(['--concurrency', '2', '--config-yaml']);
  return parse(args[3] ?? '') as Record<string, unknown>;
}

describe('the Envoy sidecar', () => {
  const settings: InjectSettings = {
    ...DEFAULT_SETTINGS,
    envoyImage: 'envoyproxy/envoy:v1.33.2',
    proxyResources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  };
  const proxy = container(injected(APP, settings), 'trellis-proxy');

  it('runs the image and resources of the settings as UID/GID 1337, read-only, unprivileged, without capabilities', () => {
    expect(proxy.image).toBe('envoyproxy/envoy:v1.33.2');
    expect(proxy.resources).toEqual(settings.proxyResources);
    expect(proxy.securityContext).toEqual({
      runAsUser: 1337,
      runAsGroup: 1337,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('defaults to a pinned envoyproxy/envoy release', () => {
    expect(DEFAULT_SETTINGS.envoyImage).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
  });

  it('takes its node identity from the downward API, which kubelet expands into the bootstrap', () => {
    expect(proxy.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    const node = bootstrapOf(proxy).node as { id: string; cluster: string; metadata: Record<string, string> };
    expect(node.id).toBe('$(POD_NAME).$(POD_NAMESPACE)');
    expect(node.cluster).toBe('$(SERVICE_ACCOUNT).$(POD_NAMESPACE)');
    expect(node.metadata).toMatchObject({ POD_NAME: '$(POD_NAME)', INSTANCE_IP: '$(INSTANCE_IP)', PROXY_MODE: 'sidecar' });
  });

  it('exposes health 15021 (its readiness probe), probes 15020 and stats 15090', () => {
    expect((proxy.ports ?? []).map((p) => p.containerPort)).toEqual([15021, 15020, 15090]);
    expect(proxy.readinessProbe?.httpGet).toEqual({ path: '/healthz/ready', port: 15021, scheme: 'HTTP' });
  });

  it("keeps the admin API (and its /quitquitquit) on 127.0.0.1:15000: the pod's containers reach it over loopback, the network only /ready and stats", () => {
    const bootstrap = bootstrapOf(proxy) as { admin: unknown; static_resources: { listeners: unknown[] } };
    expect(bootstrap.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
    // Every route of the static listeners (0.0.0.0) that reaches the admin cluster, and what it matches.
    const toAdmin: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (typeof v !== 'object' || v === null) return;
      const r = v as { match?: unknown; route?: { cluster?: string } };
      if (r.match && r.route?.cluster === 'envoy-admin') toAdmin.push(r.match);
      Object.values(v).forEach(walk);
    };
    walk(bootstrap.static_resources.listeners);
    expect(toAdmin).toEqual([{ prefix: '/stats/prometheus' }, { path: '/healthz/ready' }]);
  });

  it("routes the app's rewritten httpGet probe in its bootstrap to the resolved port with the original path", () => {
    const text = JSON.stringify(bootstrapOf(proxy));
    expect(text).toContain('"match":{"path":"/app-health/cart/readyz"},"route":{"cluster":"probe|8080|http","prefix_rewrite":"/ready"}');
  });
});

describe('authenticated xDS', () => {
  const pod = injected(APP, { ...DEFAULT_SETTINGS, secureXds: true, xdsAddress: { host: 'trellis.trellis-system.svc', port: 15012 } });
  const proxy = container(pod, 'trellis-proxy');

  it('mounts the projected token (audience trellis) and the ROOTCA ConfigMap where the bootstrap reads them', () => {
    expect(pod.spec.volumes).toEqual([
      { name: 'trellis-token', projected: { sources: [{ serviceAccountToken: { audience: 'trellis', expirationSeconds: 3600, path: 'trellis-token' } }] } },
      { name: 'trellis-ca-root-cert', configMap: { name: 'trellis-ca-root-cert' } },
    ]);
    const text = JSON.stringify(bootstrapOf(proxy));
    expect(text).toContain(`"root_certs":{"filename":"${ROOT_CERT_DIR}/${ROOT_CERT_KEY}"}`);
    expect(text).toContain(`"secret_data":{"filename":"${TOKEN_DIR}/${TOKEN_PATH}"}`);
    expect(text).toContain('"target_uri":"trellis.trellis-system.svc:15012"');
  });

  it('uses the names Trellis publishes the bundle under and the token file trellis bootstrap expects', () => {
    expect([ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY]).toEqual([PUBLISHED_CONFIGMAP, PUBLISHED_KEY]);
    expect(`${TOKEN_DIR}/${TOKEN_PATH}`).toBe(DEFAULT_XDS_TOKEN_FILE);
  });
});

describe('the capture init container', () => {
  it('runs trellis capture from the Trellis image as root with NET_ADMIN and NET_RAW only', () => {
    const capture = container(injected(APP, { ...DEFAULT_SETTINGS, trellisImage: 'registry.example/trellis:9.9.9' }), 'trellis-capture');
    expect(capture.image).toBe('registry.example/trellis:9.9.9');
    expect(capture.command).toEqual(['trellis', 'capture', '--proxy-uid', '1337']);
    expect(capture.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] } });
  });
});

describe('the status annotation', () => {
  it('records the containers, the image and the original probes by container and kind (exec probes are not rewritten)', () => {
    const status = injectionStatus(injected());
    expect(status).toEqual({
      initContainers: ['trellis-capture', 'trellis-proxy'],
      containers: [],
      volumes: [],
      image: DEFAULT_SETTINGS.envoyImage,
      nativeSidecar: true,
      probes: { cart: { readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 3 } } },
    });
  });
});

describe('purity and idempotence', () => {
  it('never mutates its input (frozen) and gives the same Pod for the same input', () => {
    expect(injected()).toEqual(injected());
  });

  it.each([true, false])('injecting an injected Pod (native: %s) changes nothing', (nativeSidecars) => {
    const once = injected(APP, { ...DEFAULT_SETTINGS, nativeSidecars });
    const twice = inject(frozen(once), OPTED_IN, { ...DEFAULT_SETTINGS, nativeSidecars });
    expect(twice.kind).toBe('skipped');
    expect(twice.kind === 'skipped' && twice.pod).toEqual(once);
  });

  it('does not take a status whose containers are gone for an injection: the Pod is injected again', () => {
    const once = injected();
    const stripped: PodLike = { ...once, spec: { ...once.spec, initContainers: [] } };
    expect(inject(stripped, OPTED_IN, DEFAULT_SETTINGS).kind).toBe('injected');
  });
});
