/**
 * The API server's version (`GET /version`), read once when `trellis serve` starts its injection
 * webhook with `--native-sidecars auto`. Every authenticated client may read it (the default
 * ClusterRole system:public-info-viewer), so Trellis's RBAC needs nothing for it.
 */
import { VersionApi, type KubeConfig, type VersionInfo } from '@kubernetes/client-node';

const TIMEOUT_MS = 10_000;

/** The answer of /version; rejects with one line (the server, what went wrong) when there is none within 10 s. */
export async function readServerVersion(kubeConfig: KubeConfig): Promise<VersionInfo> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  });
  try {
    return await Promise.race([kubeConfig.makeApiClient(VersionApi).getCode(), timeout]);
  } catch (err) {
    const e = err as { code?: number; message?: string };
    const what = typeof e.code === 'number' ? `HTTP ${e.code}` : (e.message ?? String(err));
    throw new Error(`cannot read the version of the API server ${server} (GET /version): ${what.split('\n')[0] ?? ''}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
