/**
 * Where the cluster is: a kubeconfig file when one is given, the Pod's own ServiceAccount otherwise.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { shareAgents } from './agents.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loads the kubeconfig file, or the in-cluster configuration; throws saying why neither works. Its requests share keep-alive connections (agents.ts). */
export function loadKubeConfig(opts: { kubeconfig?: string }): KubeConfig {
  const kc = shareAgents(new KubeConfig());
  if (opts.kubeconfig !== undefined) {
    try {
      kc.loadFromFile(opts.kubeconfig);
    } catch (err) {
      throw new Error(`cannot read the kubeconfig ${opts.kubeconfig}: ${message(err)}`);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) {
      throw new Error(`the kubeconfig ${opts.kubeconfig} has no current context naming a cluster with a server`);
    }
    return kc;
  }
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('no kubeconfig was given and Trellis is not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)');
  }
  if (!existsSync(SERVICE_ACCOUNT_TOKEN)) {
    throw new Error(`running in a cluster but there is no ServiceAccount token at ${SERVICE_ACCOUNT_TOKEN} (automountServiceAccountToken: false?)`);
  }
  kc.loadFromCluster();
  return kc;
}
