/** What buildModel is asked to build with, besides the inputs. */
import type { MeshModel, MtlsMode } from './types.js';

export interface ModelOptions {
  /** The cluster DNS domain. */
  readonly domain: string;
  /** The SPIFFE trust domain of workload identities. */
  readonly trustDomain: string;
  /**
   * Mutual TLS between workloads (model/mtls.ts): `enabled` only when Trellis has workload
   * certificates (`trellis serve --issuer`); `defaultMode` (`--mtls-mode`) for service ports whose
   * policy does not say. Absent: off.
   */
  readonly mtls?: { readonly enabled: boolean; readonly defaultMode: MtlsMode };
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = { domain: 'cluster.local', trustDomain: 'cluster.local' };

/** The model's mutual TLS settings: present only when enabled. */
export function mtlsSettings(opts: ModelOptions): MeshModel['mtls'] {
  return opts.mtls?.enabled ? { defaultMode: opts.mtls.defaultMode } : undefined;
}
