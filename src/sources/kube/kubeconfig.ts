/**
 * Where the cluster is: a kubeconfig file when one is given; otherwise the Pod's own ServiceAccount
 * (the control plane) or the default kubeconfig as kubectl finds it (the command line).
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { shareAgents } from './agents.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface KubeConfigOptions {
  /** A kubeconfig file. */
  readonly kubeconfig?: string;
  /** The context to use instead of the kubeconfig's current one. */
  readonly context?: string;
  /**
   * Where the cluster is without a file: `in-cluster` (the default), the Pod's own ServiceAccount; or
   * `default`, the default kubeconfig ($KUBECONFIG, ~/.kube/config, then the ServiceAccount, as
   * client-node's loadFromDefault finds it).
   */
  readonly fallback?: 'in-cluster' | 'default';
}

function loadInCluster(kc: KubeConfig): void {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('no kubeconfig was given and Trellis is not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)');
  }
  if (!existsSync(SERVICE_ACCOUNT_TOKEN)) {
    throw new Error(`running in a cluster but there is no ServiceAccount token at ${SERVICE_ACCOUNT_TOKEN} (automountServiceAccountToken: false?)`);
  }
  kc.loadFromCluster();
}

function useContext(kc: KubeConfig, context: string): void {
  if (!kc.getContextObject(context)) {
    const known = kc.getContexts().map((c) => c.name);
    throw new Error(`no context ${JSON.stringify(context)} in the kubeconfig; it has: ${known.length > 0 ? known.join(', ') : '(none)'}`);
  }
  kc.setCurrentContext(context);
}

/**
 * Loads the kubeconfig file, or else the in-cluster configuration or the default kubeconfig (`fallback`),
 * then switches to `context`; throws saying why that gives no cluster. Its requests share keep-alive
 * connections (agents.ts).
 */
export function loadKubeConfig(opts: KubeConfigOptions): KubeConfig {
  const kc = shareAgents(new KubeConfig());
  const file = opts.kubeconfig;
  if (file !== undefined) {
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new Error(`cannot read the kubeconfig ${file}: ${message(err)}`);
    }
  } else if (opts.fallback === 'default') {
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw new Error(`cannot read the default kubeconfig: ${message(err)}`);
    }
  } else {
    loadInCluster(kc);
  }
  if (opts.context !== undefined) useContext(kc, opts.context);
  if (!kc.getCurrentCluster()?.server) {
    const which = file !== undefined ? `the kubeconfig ${file}` : 'the kubeconfig';
    throw new Error(
      opts.context !== undefined
        ? `the context ${JSON.stringify(opts.context)} of ${which} names no cluster with a server`
        : `${which} has no current context naming a cluster with a server`,
    );
  }
  return kc;
}
