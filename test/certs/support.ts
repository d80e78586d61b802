/**
 * `trellis serve` with workload certificates, as the certs tests start it: a real API server, the real
 * cert-manager, Trellis's ServiceAccount bound to exactly its RBAC rules, every port on loopback.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadServeConfig } from '../../src/config/config.ts';
import { runServe, type ServeHandle } from '../../src/pipeline/index.ts';
import type { CertManager } from '../support/cert-manager.ts';
import type { Envtest } from '../support/envtest.ts';
import { Logs } from '../support/logs.ts';
import { trellisKubeconfigYaml } from '../sources/kube-support.ts';

export interface ServedWithIssuer {
  readonly handle: ServeHandle;
  readonly logs: Logs;
  /** http://127.0.0.1:PORT of the debug endpoint. */
  readonly debug: string;
}

/** Serves namespaces `watched`, Trellis living in `home`, with `cm`'s issuer and the bundle in `bundleFile`. */
export async function serveWithIssuer(
  env: Envtest,
  cm: CertManager,
  dir: string,
  home: string,
  watched: readonly string[],
  bundleFile: string,
  /** The API server's address as Trellis is to reach it (a fault proxy's); default envtest's own. */
  server?: string,
): Promise<ServedWithIssuer> {
  const kubeconfig = join(dir, `${home}.kubeconfig`);
  await writeFile(kubeconfig, await trellisKubeconfigYaml(env, home, server));
  const logs = new Logs();
  const config = loadServeConfig(
    {
      kubeconfig,
      namespaces: watched.join(','),
      'lease-namespace': home,
      id: 'trellis-0',
      'xds-address': '127.0.0.1:0',
      'xds-secure-address': '127.0.0.1:0',
      'debug-address': '127.0.0.1:0',
      issuer: cm.issuerName,
      'trust-bundle': bundleFile,
    },
    {},
  );
  const handle = await runServe(config, pino({ level: 'debug' }, { write: logs.write }));
  return { handle, logs, debug: `http://127.0.0.1:${handle.running.debugPort}` };
}

/** Resolves once Trellis holds its own serving certificate (identity `.../ns/<home>/sa/trellis`): the secure port serves from then on. */
export function ownCertificateIssued(logs: Logs, home: string, timeoutMs = 60_000): Promise<void> {
  return logs.until(
    "Trellis's serving certificate",
    (lines) => lines.some((l) => l.msg === 'workload certificate issued' && String(l.identity).endsWith(`/ns/${home}/sa/trellis`)),
    timeoutMs,
  );
}
