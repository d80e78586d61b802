/**
 * Workload certificate metrics: how long issuance takes, failures by reason (Denied, Failed,
 * Timeout, Rejected...), and each served certificate's seconds to expiry, read at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** A CertificateRequest from creation to Ready: about a second with a CA issuer, longer with ACME or an external signer. */
export const ISSUANCE_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The reasons a certificate is not issued, zeroed so that dashboards see each from the first scrape. */
export const CERT_FAILURE_REASONS = ['Denied', 'InvalidRequest', 'Failed', 'Timeout', 'Deleted', 'Rejected', 'Error'] as const;

export interface CertMetrics {
  issued(seconds: number): void;
  failed(reason: string): void;
  /** Registers the callback read at each scrape: seconds to expiry per identity. */
  expiryCollector(fn: () => readonly { identity: string; seconds: number }[]): void;
}

export function certMetrics(registry: Registry, prefix: string): CertMetrics {
  const issuance = new Histogram({
    name: `${prefix}cert_issuance_seconds`,
    help: 'Time from creating a CertificateRequest to a certificate that may be served.',
    buckets: ISSUANCE_BUCKETS,
    registers: [registry],
  });
  const failures = new Counter({
    name: `${prefix}cert_failures_total`,
    help: 'Workload certificates not obtained, by reason (Denied, InvalidRequest, Failed, Timeout, Deleted, Rejected: issued but not servable, Error: API server).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of CERT_FAILURE_REASONS) failures.inc({ reason }, 0);
  let read: (() => readonly { identity: string; seconds: number }[]) | undefined;
  new Gauge({
    name: `${prefix}cert_expiry_seconds`,
    help: 'Seconds until the served workload certificate of each identity expires (negative once expired).',
    labelNames: ['identity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { identity, seconds } of read?.() ?? []) this.set({ identity }, seconds);
    },
  });
  return {
    issued: (seconds) => issuance.observe(Math.max(0, seconds)),
    failed: (reason) => failures.inc({ reason }),
    expiryCollector: (fn) => (read = fn),
  };
}
