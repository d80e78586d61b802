/**
 * The trust bundle, published where workloads can mount it: ConfigMap `trellis-ca-root-cert` (key
 * `root-cert.pem`) in every watched namespace, as Istio publishes `istio-ca-root-cert`. Written only
 * when missing or different, so that replicas publishing the same bundle do not fight; a namespace
 * that refuses (RBAC, terminating) is logged and tried again at the next sync.
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiMessage, MANAGED_BY, statusOf } from './requests.js';

export const ROOT_CERT_CONFIGMAP = 'trellis-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';

export class RootCertPublisher {
  private readonly api: CoreV1Api;
  /** What each namespace was last seen or made to hold. */
  private readonly published = new Map<string, string>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Makes every namespace hold `pem`; resolves with the namespaces that could not be written. */
  async sync(namespaces: readonly string[], pem: string): Promise<string[]> {
    const failed: string[] = [];
    for (const namespace of [...new Set(namespaces)].sort()) {
      if (this.published.get(namespace) === pem) continue;
      try {
        await this.write(namespace, pem);
        this.published.set(namespace, pem);
      } catch (err) {
        this.published.delete(namespace);
        failed.push(namespace);
        this.logger.warn({ namespace, configMap: ROOT_CERT_CONFIGMAP, err: apiMessage(err) }, `cannot publish the trust bundle in ${namespace}`);
      }
    }
    for (const ns of [...this.published.keys()]) if (!namespaces.includes(ns)) this.published.delete(ns);
    return failed;
  }

  private async write(namespace: string, pem: string): Promise<void> {
    const body: V1ConfigMap = { metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels: { ...MANAGED_BY } }, data: { [ROOT_CERT_KEY]: pem } };
    let current: V1ConfigMap | undefined;
    try {
      current = await this.api.readNamespacedConfigMap({ name: ROOT_CERT_CONFIGMAP, namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!current) {
      await this.api.createNamespacedConfigMap({ namespace, body });
      this.logger.info({ namespace, configMap: ROOT_CERT_CONFIGMAP }, 'trust bundle published');
    } else if (current.data?.[ROOT_CERT_KEY] !== pem) {
      body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
      await this.api.replaceNamespacedConfigMap({ name: ROOT_CERT_CONFIGMAP, namespace, body });
      this.logger.info({ namespace, configMap: ROOT_CERT_CONFIGMAP }, 'trust bundle updated');
    }
  }
}
