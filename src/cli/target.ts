/**
 * The addresses a command talks to: those given (`--debug-address`, `--xds-address`), or local ports
 * forwarded to a Trellis pod of the chart (`--kubeconfig`/`--context`), closed when the command ends.
 */
import { DEFAULT_DEBUG_PORT, DEFAULT_XDS_PLAINTEXT_PORT } from '../config/config.js';
import type { Target } from '../config/debug-client.js';
import { hostPort } from '../host-port.js';
import type { XdsEndpoint } from './csds-client.js';
import type { Endpoint } from './debug-http.js';
import { loadKubeConfig } from '../sources/kube/index.js';
import { findTrellisPod, forwardPort, type Forward } from './kube-forward.js';

export interface Addresses {
  readonly debug: Endpoint;
  readonly xds: XdsEndpoint;
}

/** Runs `use` with Trellis's addresses; `ports` are those it needs forwarded in cluster mode. */
export async function withTrellis<T>(target: Target, ports: { readonly xds: boolean }, use: (a: Addresses) => Promise<T>): Promise<T> {
  if (target.kind === 'direct') {
    const debug = { ...target.debug, label: hostPort(target.debug.host, target.debug.port) };
    const xds = hostPort(target.xds.host, target.xds.port);
    return use({ debug, xds: { address: xds, label: xds } });
  }
  const kc = loadKubeConfig({ kubeconfig: target.kubeconfig, context: target.context, fallback: 'default' });
  const pod = await findTrellisPod(kc, target.namespace);
  const forwards: Forward[] = [];
  try {
    const debug = await forwardPort(kc, target.namespace, pod, DEFAULT_DEBUG_PORT);
    forwards.push(debug);
    const xds = ports.xds ? await forwardPort(kc, target.namespace, pod, DEFAULT_XDS_PLAINTEXT_PORT) : undefined;
    if (xds) forwards.push(xds);
    const xdsEndpoint = xds ? { address: hostPort(xds.host, xds.port), label: xds.label } : { address: '', label: 'not forwarded' };
    return await use({ debug, xds: xdsEndpoint }).catch((err: unknown) => {
      const why = forwards.map((f) => f.lastError()).find((e) => e !== undefined);
      throw why === undefined || !(err instanceof Error) ? err : new Error(`${err.message}; the port-forward failed: ${why}`);
    });
  } finally {
    await Promise.all(forwards.map((f) => f.close()));
  }
}
