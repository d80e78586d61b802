/** What a workload's proxy presents to Trellis in the tests and benches: its ServiceAccount token and its node. */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { TestNode } from './ads-client.ts';

/** A token of `serviceAccount` from the TokenRequest API, as a projected volume holds it (audience trellis unless told). */
export async function serviceAccountToken(core: CoreV1Api, namespace: string, serviceAccount: string, audience = 'trellis', seconds = 600): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [audience], expirationSeconds: seconds } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`no token for ServiceAccount ${namespace}/${serviceAccount}`);
  return token;
}

/** The node an injected sidecar of `pod`, running as `serviceAccount`, sends. */
export function sidecarNode(pod: string, namespace: string, serviceAccount: string): TestNode {
  return {
    id: `${pod}.${namespace}`,
    cluster: `${serviceAccount}.${namespace}`,
    metadata: { PROXY_MODE: 'sidecar', NAMESPACE: namespace, POD_NAME: pod, SERVICE_ACCOUNT: serviceAccount },
  };
}
