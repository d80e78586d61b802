/**
 * The dashboard and the alerts read only metrics Trellis exports: a real `trellis serve` on the example mesh, a proxy
 * connected to it, /metrics scraped from its debug endpoint; every PromQL expression of helm/trellis/dashboards/
 * trellis.json and of the rendered PrometheusRule parsed with Prometheus's own grammar, and each metric name it
 * reads looked up among the families the scrape declares (a histogram's _bucket, _sum and _count understood).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SotwClient } from '../support/ads-client.ts';
import { TrellisProcess } from '../support/cli-process.ts';
import { CDS } from '../support/resources.ts';
import { expandGrafana, exportedFamilies, isExported, metricNames } from './promql.ts';
import { CHART, one, render } from './support.ts';

const TIMEOUT = 120_000;

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}

const dashboard = JSON.parse(readFileSync(join(CHART, 'dashboards/trellis.json'), 'utf8')) as Dashboard;

/** Every query of the dashboard, named by its panel or variable. */
function dashboardQueries(d: Dashboard): { where: string; expr: string }[] {
  const panels = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: expandGrafana(t.expr) })));
  // A variable's label_values(metric, label): its metric is a PromQL selector of its own.
  const variables = d.templating.list.flatMap((v) => {
    const m = /^label_values\((.+),\s*\w+\)$/.exec(v.definition ?? '');
    return m?.[1] ? [{ where: `variable $${v.name}`, expr: expandGrafana(m[1]) }] : [];
  });
  return [...panels, ...variables];
}

/** The alerts' expressions as the chart renders them. */
async function ruleQueries(): Promise<{ where: string; expr: string }[]> {
  const rule = one(await render(['--set', 'monitoring.prometheusRule.enabled=true']), 'PrometheusRule', 'trellis') as unknown as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  return rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

/** Each metric an expression reads that the scrape does not declare, named with where it is used. */
function unexported(queries: readonly { where: string; expr: string }[], families: ReadonlyMap<string, string>): string[] {
  return queries.flatMap(({ where, expr }) => metricNames(expr).flatMap((name) => (isExported(name, families) ? [] : [`${where}: ${name}`])));
}

let trellis: TrellisProcess;
let proxy: SotwClient | undefined;
let families: Map<string, string>;

beforeAll(async () => {
  trellis = new TrellisProcess(['serve', '--manifests', 'examples/mesh', '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0']);
  const serving = await trellis.until('trellis serving', (l) => l.msg === 'trellis serving');
  proxy = await SotwClient.connect(String(serving.xds), { node: { id: 'frontend-6d9f7-a1.shop' } });
  proxy.subscribe(CDS);
  proxy.ack(await proxy.next(CDS));
  const res = await fetch(`http://${String(serving.debug)}/metrics`);
  expect(res.status).toBe(200);
  families = exportedFamilies(await res.text());
}, TIMEOUT);

afterAll(async () => {
  proxy?.close();
  await trellis?.stop();
});

describe('every metric the dashboard and the alerts read is one Trellis exports', () => {
  it('the scrape is of a serving Trellis with a proxy', () => {
    expect(families.get('trellis_xds_proxies')).toBe('gauge');
    expect(families.get('trellis_xds_convergence_seconds')).toBe('histogram');
  });

  it('the dashboard: every panel has a query, and every query parses and reads exported metrics', () => {
    const queries = dashboardQueries(dashboard);
    expect(dashboard.panels.filter((p) => (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
    expect(queries.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    expect(unexported(queries, families)).toEqual([]);
    expect(new Set(queries.flatMap((q) => metricNames(q.expr))).size).toBeGreaterThanOrEqual(10);
  });

  it('the PrometheusRule: every alert parses and reads exported metrics', async () => {
    const queries = await ruleQueries();
    expect(queries.map((q) => q.where)).toEqual(
      expect.arrayContaining([
        'alert TrellisProxyNacks',
        'alert TrellisPolicyRejected',
        'alert TrellisProxiesStale',
        'alert TrellisCertificateExpiring',
        'alert TrellisSourceDisconnected',
      ]),
    );
    expect(unexported(queries, families)).toEqual([]);
  });

  it('finds a misspelt metric, a suffix its family does not have, and an expression that does not parse (the check can fail)', () => {
    const bad = [
      { where: 'panel "typo"', expr: 'sum by (type) (rate(trellis_xds_push_total[5m]))' },
      { where: 'panel "gauge bucket"', expr: 'histogram_quantile(0.99, rate(trellis_xds_proxies_bucket[5m]))' },
      { where: 'panel "fine"', expr: 'histogram_quantile(0.99, sum by (le) (rate(trellis_xds_convergence_seconds_bucket{type="EDS"}[5m])))' },
    ];
    expect(unexported(bad, families)).toEqual(['panel "typo": trellis_xds_push_total', 'panel "gauge bucket": trellis_xds_proxies_bucket']);
    expect(() => metricNames('sum by (type (rate(trellis_xds_pushes_total[5m]))')).toThrow(/PromQL does not parse at \d+/);
    // A label value naming a metric is not a metric read.
    expect(metricNames('sum(trellis_source_connected{job="trellis_xds_missing"})')).toEqual(['trellis_source_connected']);
    expect(metricNames('{__name__="trellis_xds_missing", job="x"}')).toEqual(['trellis_xds_missing']);
  });
});
