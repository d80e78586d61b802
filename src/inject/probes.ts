/**
 * Probe rewriting. Kubelet probes the pod IP, where inbound capture (and, with mutual TLS, a
 * certificate kubelet does not have) stands in the way; so an httpGet, tcpSocket or grpc probe is
 * rewritten to an httpGet on Envoy's probe port 15020, path `/app-health/<container>/<livez|readyz|startupz>`,
 * and the bootstrap routes that path to the application on 127.0.0.1 (src/bootstrap/probes.ts):
 * httpGet with its original path, scheme and headers; tcpSocket and grpc through Envoy's active
 * health checks. exec probes, and probes aimed at another host, are left as they are.
 */
import type { AppProbe } from '../bootstrap/probes.js';
import { SIDECAR_PORTS } from '../envoy/contract.js';
import { PROBE_KINDS, type Container, type Probe, type ProbeKind } from './types.js';

const SUFFIX: Readonly<Record<ProbeKind, string>> = { livenessProbe: 'livez', readinessProbe: 'readyz', startupProbe: 'startupz' };

export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** The original probes of the rewritten containers, by container then probe kind (recorded in trellis.dev/status). */
export type OriginalProbes = Record<string, Partial<Record<ProbeKind, Probe>>>;

export interface RewrittenProbes {
  readonly containers: Container[];
  readonly original: OriginalProbes;
  readonly routes: AppProbe[];
}

export function appHealthPath(container: string, kind: ProbeKind): string {
  return `/app-health/${container}/${SUFFIX[kind]}`;
}

/** A port number, or a refusal naming the container and the probe. */
function checked(container: Container, kind: ProbeKind, port: unknown): number {
  if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw new ProbeError(`container "${container.name}" ${kind}: port ${JSON.stringify(port)} is not a port (1-65535)`);
}

/** A named port resolved against the container's ports; a number stays as it is. */
function resolvePort(container: Container, kind: ProbeKind, port: number | string): number {
  if (typeof port !== 'string') return checked(container, kind, port);
  const named = container.ports?.find((p) => p.name === port);
  if (named) return checked(container, kind, named.containerPort);
  if (/^\d+$/.test(port)) return checked(container, kind, Number(port));
  const names = (container.ports ?? []).flatMap((p) => (p.name ? [p.name] : []));
  const known = names.length > 0 ? `its named ports are ${names.join(', ')}` : 'it has no named ports';
  throw new ProbeError(`container "${container.name}" ${kind}: port "${port}" is not a port of the container (${known})`);
}

/** Where a probe goes, or undefined for a probe that is not rewritten. */
function route(container: Container, kind: ProbeKind, probe: Probe): AppProbe | undefined {
  const path = appHealthPath(container.name, kind);
  if (probe.httpGet && !probe.httpGet.host) {
    const { httpGet } = probe;
    return {
      path,
      port: resolvePort(container, kind, httpGet.port),
      check: {
        kind: 'http',
        path: httpGet.path || '/',
        scheme: httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP',
        headers: (httpGet.httpHeaders ?? []).map(({ name, value }) => ({ name, value })),
      },
    };
  }
  const timing = { intervalSeconds: num(probe.periodSeconds, 10), timeoutSeconds: num(probe.timeoutSeconds, 1) };
  if (probe.tcpSocket && !probe.tcpSocket.host) return { path, port: resolvePort(container, kind, probe.tcpSocket.port), check: { kind: 'tcp', ...timing } };
  if (probe.grpc) return { path, port: checked(container, kind, probe.grpc.port), check: { kind: 'grpc', service: probe.grpc.service ?? '', ...timing } };
  return undefined;
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** The probe kubelet runs instead: the same timing, an httpGet on Envoy's probe port. */
function rewritten(probe: Probe, path: string): Probe {
  const { httpGet: _h, tcpSocket: _t, grpc: _g, ...timing } = probe;
  return { httpGet: { path, port: SIDECAR_PORTS.probes, scheme: 'HTTP' }, ...timing };
}

/** Rewrites the probes of the application's containers (copies; the input is not touched). */
export function rewriteProbes(containers: readonly Container[]): RewrittenProbes {
  const original: OriginalProbes = {};
  const routes: AppProbe[] = [];
  const out = containers.map((container) => {
    let copy: Container = container;
    for (const kind of PROBE_KINDS) {
      const probe = container[kind];
      if (!probe) continue;
      const r = route(container, kind, probe);
      if (!r) continue;
      routes.push(r);
      (original[container.name] ??= {})[kind] = probe;
      copy = { ...copy, [kind]: rewritten(probe, r.path) };
    }
    return copy;
  });
  return { containers: out, original, routes };
}
