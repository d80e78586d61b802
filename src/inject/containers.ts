/**
 * What injection adds to a Pod: the Envoy sidecar (its bootstrap rendered by src/bootstrap with the
 * node identity left to the downward API) and the capture init container, plus, for authenticated
 * xDS, the token and trust bundle volumes.
 */
import { stringify } from 'yaml';
import { renderBootstrap, type AppProbe } from '../bootstrap/render.js';
import type { PodOptions } from './annotations.js';
import {
  NAMES,
  PROXY_UID,
  ROOT_CERT_CONFIGMAP,
  ROOT_CERT_DIR,
  ROOT_CERT_KEY,
  SIDECAR_PORTS,
  TOKEN_AUDIENCE,
  TOKEN_DIR,
  TOKEN_PATH,
  type InjectSettings,
} from './settings.js';
import type { Container, Probe } from './types.js';

/** Downward-API environment: the proxy's node identity. Kubernetes expands `$(NAME)` in args from it. */
const IDENTITY_ENV = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
  { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];

/** The sidecar's bootstrap: the identity as `$(VAR)` references kubelet fills in from IDENTITY_ENV. */
export function proxyBootstrap(settings: InjectSettings, probes: readonly AppProbe[]): string {
  const rendered = renderBootstrap({
    mode: 'sidecar',
    xdsAddress: settings.xdsAddress,
    pod: '$(POD_NAME)',
    namespace: '$(POD_NAMESPACE)',
    serviceAccount: '$(SERVICE_ACCOUNT)',
    ip: '$(INSTANCE_IP)',
    ...(settings.secureXds ? { xdsTls: { rootCertFile: `${ROOT_CERT_DIR}/${ROOT_CERT_KEY}`, tokenFile: `${TOKEN_DIR}/${TOKEN_PATH}` } } : {}),
    appProbes: probes,
  });
  return stringify(rendered.object, { lineWidth: 0 });
}

const readiness = (): Probe => ({
  httpGet: { path: '/healthz/ready', port: SIDECAR_PORTS.health, scheme: 'HTTP' },
  periodSeconds: 5,
  timeoutSeconds: 3,
  failureThreshold: 3,
});

/** Envoy, as a regular container (legacy) or a native sidecar (an init container that keeps running, started before the app). */
export function proxyContainer(settings: InjectSettings, options: PodOptions, probes: readonly AppProbe[]): Container {
  const container: Container = {
    name: NAMES.proxy,
    image: settings.envoyImage,
    args: ['--concurrency', '2', '--config-yaml', proxyBootstrap(settings, probes)],
    env: structuredClone(IDENTITY_ENV),
    ports: [
      { name: 'trellis-health', containerPort: SIDECAR_PORTS.health, protocol: 'TCP' },
      { name: 'trellis-probes', containerPort: SIDECAR_PORTS.probes, protocol: 'TCP' },
      { name: 'http-envoy-prom', containerPort: SIDECAR_PORTS.stats, protocol: 'TCP' },
    ],
    readinessProbe: readiness(),
    resources: structuredClone(settings.proxyResources),
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
  };
  if (settings.secureXds) {
    container.volumeMounts = [
      { name: NAMES.tokenVolume, mountPath: TOKEN_DIR, readOnly: true },
      { name: NAMES.rootCertVolume, mountPath: ROOT_CERT_DIR, readOnly: true },
    ];
  }
  if (!options.nativeSidecar) return container;
  // Kubelet starts the next init container once this one's startupProbe succeeds: the app starts once Envoy has its configuration.
  return { ...container, restartPolicy: 'Always', startupProbe: { ...readiness(), periodSeconds: 1, failureThreshold: 600 } };
}

/** The volumes the proxy mounts for authenticated xDS (none in plaintext). */
export function proxyVolumes(settings: InjectSettings): { name: string; [key: string]: unknown }[] {
  if (!settings.secureXds) return [];
  return [
    {
      name: NAMES.tokenVolume,
      projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: TOKEN_PATH } }] },
    },
    { name: NAMES.rootCertVolume, configMap: { name: ROOT_CERT_CONFIGMAP } },
  ];
}

/** `trellis capture` with the Pod's exclusions, as root with NET_ADMIN and NET_RAW only. */
export function captureContainer(settings: InjectSettings, options: PodOptions): Container {
  const flag = (name: string, values: readonly (string | number)[]) => (values.length > 0 ? [`--${name}`, values.join(',')] : []);
  return {
    name: NAMES.capture,
    image: settings.trellisImage,
    command: [
      'trellis',
      'capture',
      '--proxy-uid',
      String(PROXY_UID),
      ...flag('exclude-inbound-ports', options.excludeInboundPorts),
      ...flag('exclude-outbound-ports', options.excludeOutboundPorts),
      ...flag('exclude-outbound-cidrs', options.excludeOutboundCidrs),
    ],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}
