/**
 * What `/debug/certz` shows of workload certificates: plain data, with nothing of the machinery
 * behind it, so the debug endpoint can import it without the Kubernetes client.
 */
import type { CertzEntry } from './manager.js';
import type { IssuerRef } from './requests.js';

export const NO_ISSUER = 'workload certificates are off (no --issuer): nothing is encrypted, and a TrafficPolicy asking for STRICT mTLS is not programmed';

/** What `/debug/certz` shows. */
export type CertzView =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      readonly issuer: IssuerRef;
      readonly trustBundle: { readonly file: string; readonly roots: readonly { subject: string; notAfter: string }[]; readonly error?: string };
      /** Namespaces the bundle could not be published in at the last attempt. */
      readonly unpublished: readonly string[];
      readonly identities: readonly CertzEntry[];
    };
