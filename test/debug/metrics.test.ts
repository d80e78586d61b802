import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/debug/metrics.js';
import type { SyncSummary } from '../../src/xds/status.js';
import { sample, startServer } from './support.js';

describe('createMetrics', () => {
  it('counts pushes, bytes, ACKs and NACKs per type short name', async () => {
    const m = createMetrics();
    m.pushed('cluster', 'sotw', 1000, 0.002);
    m.pushed('cluster', 'delta', 234, 0.003);
    m.pushed('secret', 'sotw', 10, 0.001);
    m.acked('cluster', undefined);
    m.nacked('route', 'web-0.default', 'bad route', []);
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_xds_pushes_total{type="CDS"}')).toBe(2);
    expect(sample(text, 'trellis_xds_pushes_total{type="SDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_push_bytes_total{type="CDS"}')).toBe(1234);
    expect(sample(text, 'trellis_xds_push_duration_seconds_count{type="CDS"}')).toBe(2);
    expect(sample(text, 'trellis_xds_push_duration_seconds_bucket{le="0.0025",type="CDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_acks_total{type="CDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_nacks_total{type="RDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_nacks_total{type="CDS"}')).toBe(0);
  });

  it('observes convergence on ACKs that carry it, in sub-second buckets', async () => {
    const m = createMetrics();
    m.acked('endpoint', 0.04);
    m.acked('endpoint', 0.3);
    m.acked('endpoint', undefined);
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_xds_convergence_seconds_count{type="EDS"}')).toBe(2);
    expect(sample(text, 'trellis_xds_convergence_seconds_bucket{le="0.05",type="EDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_convergence_seconds_bucket{le="0.5",type="EDS"}')).toBe(2);
    expect(sample(text, 'trellis_xds_acks_total{type="EDS"}')).toBe(3);
  });

  it('tracks connected proxies per protocol, never below zero', async () => {
    const m = createMetrics();
    m.streamOpened('sotw');
    m.streamOpened('sotw');
    m.streamOpened('delta');
    m.streamClosed('sotw');
    m.streamClosed('delta');
    m.streamClosed('delta');
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_xds_connected_proxies{protocol="sotw"}')).toBe(1);
    expect(sample(text, 'trellis_xds_connected_proxies{protocol="delta"}')).toBe(0);
  });

  it('counts rejected requests by reason and observes debounce windows', async () => {
    const m = createMetrics();
    m.rejected('no_node');
    m.rejected('no_node');
    m.rejected('unknown_type');
    m.debounced(0.12, 7);
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_xds_rejected_requests_total{reason="no_node"}')).toBe(2);
    expect(sample(text, 'trellis_xds_rejected_requests_total{reason="unknown_type"}')).toBe(1);
    expect(sample(text, 'trellis_debounce_seconds_sum')).toBeCloseTo(0.12);
    expect(sample(text, 'trellis_debounce_seconds_bucket{le="0.1"}')).toBe(0);
    expect(sample(text, 'trellis_debounce_seconds_bucket{le="0.25"}')).toBe(1);
    expect(sample(text, 'trellis_debounce_folded_changes_bucket{le="5"}')).toBe(0);
    expect(sample(text, 'trellis_debounce_folded_changes_bucket{le="10"}')).toBe(1);
  });

  it('reads the cache figures from the collector at each scrape', async () => {
    const m = createMetrics();
    let figures = { encodes: 10, resources: 4, classes: 2 };
    m.cacheCollector(() => figures);
    const read = (text: string) => ['trellis_cache_encodes_total', 'trellis_cache_resources', 'trellis_cache_proxy_classes'].map((n) => sample(text, n));
    expect(read(await m.registry.metrics())).toEqual([10, 4, 2]);
    figures = { encodes: 25, resources: 3, classes: 1 };
    expect(read(await m.registry.metrics())).toEqual([25, 3, 1]);
  });

  it('keeps scraping when the cache collector throws', async () => {
    const m = createMetrics();
    m.cacheCollector(() => {
      throw new Error('cache gone');
    });
    m.pushed('listener', 'sotw', 1, 0.001);
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_xds_pushes_total{type="LDS"}')).toBe(1);
    expect(sample(text, 'trellis_cache_resources')).toBe(0);
  });

  it('shows workload certificates: issuance time, failures by reason (each zero at first), and seconds to expiry per identity', async () => {
    const m = createMetrics();
    const before = await m.registry.metrics();
    expect(sample(before, 'trellis_cert_failures_total{reason="Denied"}')).toBe(0);
    expect(sample(before, 'trellis_cert_failures_total{reason="Timeout"}')).toBe(0);
    let expiries = [{ identity: 'spiffe://cluster.local/ns/shop/sa/web', seconds: 3600 }];
    m.certs.expiryCollector(() => expiries);
    m.certs.issued(0.8);
    m.certs.failed('Denied');
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_cert_issuance_seconds_bucket{le="1"}')).toBe(1);
    expect(sample(text, 'trellis_cert_failures_total{reason="Denied"}')).toBe(1);
    expect(sample(text, 'trellis_cert_expiry_seconds{identity="spiffe://cluster.local/ns/shop/sa/web"}')).toBe(3600);
    expiries = [];
    expect(await m.registry.metrics()).not.toContain('trellis_cert_expiry_seconds{');
  });

  it('counts NACKs by type and by each TrafficPolicy among the rejected resources’ sources', async () => {
    const m = createMetrics();
    const policy = (namespace: string, name: string) => ({ kind: 'TrafficPolicy', namespace, name });
    const service = { kind: 'Service', namespace: 'shop', name: 'web' };
    m.nacked('route', 'web-0.shop', 'bad route', [
      { kind: 'route', name: 'r1', version: 'v1', sources: [service, policy('shop', 'web')] },
      { kind: 'route', name: 'r2', version: 'v1', sources: [policy('shop', 'web'), policy('shop', 'canary')] },
    ]);
    m.nacked('cluster', 'web-0.shop', 'bad cluster', [{ kind: 'cluster', name: 'c', version: 'v1', sources: [service] }]);
    m.nacked('cluster', 'web-1.shop', 'bad cluster', [{ kind: 'cluster', name: 'c', version: 'v1', sources: [policy('shop', 'web')] }]);
    const text = await m.registry.metrics();
    expect(sample(text, 'trellis_policy_nacks_total{type="RDS",policy="shop/web"}')).toBe(1);
    expect(sample(text, 'trellis_policy_nacks_total{type="RDS",policy="shop/canary"}')).toBe(1);
    expect(sample(text, 'trellis_policy_nacks_total{type="CDS",policy="shop/web"}')).toBe(1);
    expect(sample(text, 'trellis_xds_nacks_total{type="CDS"}')).toBe(2);
  });

  it('reads the proxies by state and the longest staleness at each scrape, keeping the last values when the collector throws', async () => {
    const m = createMetrics();
    const before = await m.registry.metrics();
    expect(['SYNCED', 'NOT SENT', 'STALE', 'ERROR'].map((state) => sample(before, `trellis_xds_proxies{state="${state}"}`))).toEqual([0, 0, 0, 0]);
    expect(sample(before, 'trellis_xds_oldest_stale_seconds')).toBe(0);
    let summary: SyncSummary | Error = { proxies: { SYNCED: 3, 'NOT SENT': 1, STALE: 2, ERROR: 1 }, oldestStaleSeconds: 75.5 };
    let walks = 0;
    m.proxiesCollector(() => {
      walks++;
      if (summary instanceof Error) throw summary;
      return summary;
    });
    const read = async () => {
      const text = await m.registry.metrics();
      return [
        ...['SYNCED', 'NOT SENT', 'STALE', 'ERROR'].map((state) => sample(text, `trellis_xds_proxies{state="${state}"}`)),
        sample(text, 'trellis_xds_oldest_stale_seconds'),
      ];
    };
    expect(await read()).toEqual([3, 1, 2, 1, 75.5]);
    summary = new Error('server gone');
    expect(await read()).toEqual([3, 1, 2, 1, 75.5]);
    summary = { proxies: { SYNCED: 4, 'NOT SENT': 0, STALE: 0, ERROR: 0 }, oldestStaleSeconds: 0 };
    expect(await read()).toEqual([4, 0, 0, 0, 0]);
    // One walk over the streams per scrape, for both gauges.
    expect(walks).toBe(3);
  });

  it('includes the default process metrics with the trellis_ prefix', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toContain('trellis_process_cpu_user_seconds_total');
    expect(text).toContain('trellis_nodejs_heap_size_used_bytes');
  });

  it('uses a fresh registry per instance, or the one given', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.rejected('x');
    expect(a.registry).not.toBe(b.registry);
    expect(sample(await b.registry.metrics(), 'trellis_xds_rejected_requests_total{reason="x"}')).toBeUndefined();
    const registry = new Registry();
    expect(createMetrics({ registry }).registry).toBe(registry);
    expect(await registry.metrics()).toContain('trellis_xds_pushes_total');
  });
});

describe('/metrics', () => {
  it('serves the registry with its content type after observer calls', async () => {
    const { base, metrics } = await startServer();
    metrics.pushed('cluster', 'sotw', 512, 0.004);
    metrics.acked('cluster', 0.2);
    metrics.nacked('listener', 'web-0.default', 'no filter chain', []);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    const text = await res.text();
    expect(sample(text, 'trellis_xds_pushes_total{type="CDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_acks_total{type="CDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_nacks_total{type="LDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_convergence_seconds_bucket{le="0.25",type="CDS"}')).toBe(1);
    expect(sample(text, 'trellis_xds_convergence_seconds_bucket{le="0.1",type="CDS"}')).toBe(0);
    for (const name of ['trellis_xds_connected_proxies', 'trellis_debounce_seconds', 'trellis_cache_encodes_total']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });
});

describe('source connectivity', () => {
  it('exposes whether the source reaches where it reads from', async () => {
    const { createMetrics: make } = await import('../../src/debug/metrics.ts');
    const m = make();
    expect(await m.registry.getSingleMetricAsString('trellis_source_connected')).toMatch(/trellis_source_connected 1$/m);
    m.sourceConnected(false);
    expect(await m.registry.getSingleMetricAsString('trellis_source_connected')).toMatch(/trellis_source_connected 0$/m);
  });
});
