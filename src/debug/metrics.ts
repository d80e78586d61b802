/**
 * Prometheus metrics for the control plane. `Metrics` is the xDS server's observer (it counts what
 * the server reports) plus the debounce and cache figures other stages feed it. Every metric lives
 * on its own registry, never prom-client's global one, so tests and several instances never collide.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SHORT_NAME, type ResourceKind } from '../envoy/types.js';
import type { SyncSummary, XdsObserver } from '../xds/status.js';
import { certMetrics, type CertMetrics } from './cert-metrics.js';
import { proxyMetrics } from './proxy-metrics.js';

export const METRIC_PREFIX = 'trellis_';

export interface CacheFigures {
  /** Resources encoded since start (a counter: it only grows). */
  readonly encodes: number;
  /** Resources the cache holds now. */
  readonly resources: number;
  /** Proxy classes the cache holds a snapshot for now. */
  readonly classes: number;
}

export interface Metrics extends XdsObserver {
  /** A debounce window closed: `seconds` from its first change to the build, folding `changes` changes. */
  debounced(seconds: number, changes: number): void;
  /** Registers the callback read at each scrape for the cache figures (replaces any earlier one). */
  cacheCollector(fn: () => CacheFigures): void;
  /** Registers the callback read at each scrape for the connected proxies' states (replaces any earlier one). */
  proxiesCollector(fn: () => SyncSummary): void;
  /** Whether the source reaches where it reads from (false: serving the last known state). */
  sourceConnected(connected: boolean): void;
  /** A debounced rebuild threw: the last good snapshots keep serving. */
  rebuildFailed(): void;
  /** Workload certificates: issuance, failures, expiry. */
  readonly certs: CertMetrics;
  readonly registry: Registry;
}

type Protocol = 'sotw' | 'delta';
const PROTOCOLS: readonly Protocol[] = ['sotw', 'delta'];

/** Building and writing one response: sub-millisecond for a small cluster, up to seconds at scale. */
export const PUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Change to ACK: debounce, build, network and Envoy's own apply time. */
export const CONVERGENCE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A debounce window: bounded by the configured minimum and maximum delays. */
export const DEBOUNCE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const FOLDED_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

function name(suffix: string): string {
  return `${METRIC_PREFIX}${suffix}`;
}

function typeCounter(registry: Registry, suffix: string, help: string): Counter<'type'> {
  return new Counter({ name: name(suffix), help, labelNames: ['type'], registers: [registry] });
}

function typeHistogram(registry: Registry, suffix: string, help: string, buckets: number[]): Histogram<'type'> {
  return new Histogram({ name: name(suffix), help, labelNames: ['type'], buckets, registers: [registry] });
}

function xdsMetrics(registry: Registry) {
  return {
    connected: new Gauge({
      name: name('xds_connected_proxies'),
      help: 'Open ADS streams, by protocol (sotw or delta).',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    pushes: typeCounter(registry, 'xds_pushes_total', 'xDS responses written, by type (CDS, EDS, LDS, RDS, SDS).'),
    pushBytes: typeCounter(registry, 'xds_push_bytes_total', 'Bytes of xDS responses written, by type.'),
    pushSeconds: typeHistogram(registry, 'xds_push_duration_seconds', 'Time to build and write one xDS response, by type.', PUSH_BUCKETS),
    acks: typeCounter(registry, 'xds_acks_total', 'ACKs received, by type.'),
    nacks: typeCounter(registry, 'xds_nacks_total', 'NACKs received (config rejected by a proxy), by type.'),
    convergence: typeHistogram(
      registry,
      'xds_convergence_seconds',
      'Time from a change reaching the server to the ACK of the response carrying it, by type.',
      CONVERGENCE_BUCKETS,
    ),
    rejected: new Counter({
      name: name('xds_rejected_requests_total'),
      help: 'Malformed or unacceptable xDS requests, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

function debounceMetrics(registry: Registry) {
  return {
    seconds: new Histogram({
      name: name('debounce_seconds'),
      help: 'Time from the first change of a debounce window to the build it triggered.',
      buckets: DEBOUNCE_BUCKETS,
      registers: [registry],
    }),
    folded: new Histogram({
      name: name('debounce_folded_changes'),
      help: 'Changes folded into one build by a debounce window.',
      buckets: FOLDED_BUCKETS,
      registers: [registry],
    }),
  };
}

/** Cache figures read from a callback at scrape time; a failing callback leaves the last values. */
function cacheMetrics(registry: Registry): (fn: () => CacheFigures) => void {
  let read: (() => CacheFigures) | undefined;
  const figures = (): CacheFigures | undefined => {
    try {
      return read?.();
    } catch {
      return undefined;
    }
  };
  new Counter({
    name: name('cache_encodes_total'),
    help: 'Resources encoded by the snapshot cache since start.',
    registers: [registry],
    collect() {
      const value = figures()?.encodes;
      if (value === undefined || !Number.isFinite(value) || value < 0) return;
      this.reset();
      this.inc(value);
    },
  });
  new Gauge({
    name: name('cache_resources'),
    help: 'Resources held by the snapshot cache.',
    registers: [registry],
    collect() {
      const value = figures()?.resources;
      if (value !== undefined && Number.isFinite(value)) this.set(value);
    },
  });
  new Gauge({
    name: name('cache_proxy_classes'),
    help: 'Proxy classes the cache holds a snapshot for: those with a connected proxy, and those within --class-grace of their last one leaving.',
    registers: [registry],
    collect() {
      const value = figures()?.classes;
      if (value !== undefined && Number.isFinite(value)) this.set(value);
    },
  });
  return (fn) => {
    read = fn;
  };
}

/** Zero every per-type series so dashboards see all five types from the first scrape. */
function zeroTypes(m: ReturnType<typeof xdsMetrics>): void {
  for (const type of Object.values(SHORT_NAME)) {
    for (const counter of [m.pushes, m.pushBytes, m.acks, m.nacks]) counter.inc({ type }, 0);
    m.pushSeconds.zero({ type });
    m.convergence.zero({ type });
  }
  for (const protocol of PROTOCOLS) m.connected.set({ protocol }, 0);
}

export function createMetrics(opts?: { registry?: Registry }): Metrics {
  const registry = opts?.registry ?? new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const xds = xdsMetrics(registry);
  const debounce = debounceMetrics(registry);
  const setCacheCollector = cacheMetrics(registry);
  const proxies = proxyMetrics(registry, METRIC_PREFIX);
  const sourceUp = new Gauge({
    name: `${METRIC_PREFIX}source_connected`,
    help: '1 while the source reaches where it reads from; 0 while Trellis serves the last known state (API server unreachable, manifests directory missing)',
    registers: [registry],
  });
  sourceUp.set(1);
  const rebuildFailures = new Counter({
    name: name('rebuild_failures_total'),
    help: 'Debounced rebuilds (model, translation, cache) that threw; the last good snapshots kept serving.',
    registers: [registry],
  });
  rebuildFailures.inc(0);
  zeroTypes(xds);
  const open: Record<Protocol, number> = { sotw: 0, delta: 0 };
  const type = (kind: ResourceKind) => ({ type: SHORT_NAME[kind] });
  const nonNegative = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);

  return {
    registry,
    certs: certMetrics(registry, METRIC_PREFIX),
    streamOpened(protocol) {
      open[protocol] += 1;
      xds.connected.set({ protocol }, open[protocol]);
    },
    streamClosed(protocol) {
      open[protocol] = Math.max(0, open[protocol] - 1);
      xds.connected.set({ protocol }, open[protocol]);
    },
    pushed(kind, _protocol, bytes, seconds) {
      xds.pushes.inc(type(kind));
      xds.pushBytes.inc(type(kind), nonNegative(bytes));
      xds.pushSeconds.observe(type(kind), nonNegative(seconds));
    },
    acked(kind, convergenceSeconds) {
      xds.acks.inc(type(kind));
      if (convergenceSeconds !== undefined) xds.convergence.observe(type(kind), nonNegative(convergenceSeconds));
    },
    nacked(kind, _proxyId, _message, rejected) {
      xds.nacks.inc(type(kind));
      proxies.nacked(kind, rejected);
    },
    rejected(reason) {
      xds.rejected.inc({ reason });
    },
    debounced(seconds, changes) {
      debounce.seconds.observe(nonNegative(seconds));
      debounce.folded.observe(nonNegative(changes));
    },
    cacheCollector: setCacheCollector,
    proxiesCollector: (fn) => proxies.collector(fn),
    sourceConnected(connected) {
      sourceUp.set(connected ? 1 : 0);
    },
    rebuildFailed() {
      rebuildFailures.inc();
    },
  };
}
