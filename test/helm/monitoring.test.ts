/**
 * The chart's monitoring objects: the Grafana dashboard's ConfigMap (on by default, its labels and annotations from
 * values, its JSON the one file helm/trellis/dashboards/trellis.json) and the opt-in PrometheusRule. No npm package
 * carries the prometheus-operator CRD, so the rule is validated against @kubernetes-models/prometheus-operator's
 * schema (generated from that CRD) rather than created in envtest; the envtest cases render it disabled.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { describe, expect, it } from 'vitest';
import { CHART, helm, KUBE_VERSIONS, NAMESPACE, one, render } from './support.ts';

const TIMEOUT = 120_000;
const DASHBOARD = readFileSync(join(CHART, 'dashboards/trellis.json'), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

describe('the Grafana dashboard ConfigMap', () => {
  it(
    'is rendered by default with the sidecar label and the dashboard file as it is',
    async () => {
      const cm = one(await render(), 'ConfigMap', 'trellis-dashboard') as unknown as { metadata: { namespace: string; labels: Record<string, string> }; data: Record<string, string> };
      expect(cm.metadata.namespace).toBe(NAMESPACE);
      expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/name': 'trellis' });
      expect(cm.data).toEqual({ 'trellis.json': DASHBOARD });
      expect(JSON.parse(cm.data['trellis.json'] ?? '')).toMatchObject({ title: 'Trellis', uid: 'trellis-control-plane' });
    },
    TIMEOUT,
  );

  it(
    'takes its labels and annotations from values, and is left out when disabled',
    async () => {
      const custom = one(
        await render(['--set-json', 'monitoring.dashboard.labels={"dashboards":"mesh"}', '--set', 'monitoring.dashboard.annotations.grafana_folder=Mesh']),
        'ConfigMap',
        'trellis-dashboard',
      );
      // Helm merges maps: the default label stays beside the ones given.
      expect(custom.metadata.labels).toMatchObject({ dashboards: 'mesh', grafana_dashboard: '1' });
      expect(custom.metadata.annotations).toEqual({ grafana_folder: 'Mesh' });
      const objects = await render(['--set', 'monitoring.dashboard.enabled=false']);
      expect(objects.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    },
    TIMEOUT,
  );
});

describe('the PrometheusRule', () => {
  it(
    'is not rendered by default (it needs the prometheus-operator CRDs)',
    async () => {
      expect((await render()).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
    },
    TIMEOUT,
  );

  it.each(KUBE_VERSIONS)(
    'when enabled: valid for the prometheus-operator schema, with its labels, the six alerts and the expiry threshold (Kubernetes %s)',
    async (kubeVersion) => {
      const args = ['--set', 'monitoring.prometheusRule.enabled=true', '--set', 'monitoring.prometheusRule.labels.release=kube-prometheus-stack'];
      const o = one(await render([...args, '--set', 'monitoring.prometheusRule.certExpirySeconds=7200'], kubeVersion), 'PrometheusRule', 'trellis');
      expect(() => new PrometheusRule(o as never).validate()).not.toThrow();
      expect(o.metadata).toMatchObject({ namespace: NAMESPACE, labels: { release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'trellis' } });
      const rules = (o as unknown as { spec: { groups: { rules: Rule[] }[] } }).spec.groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.alert)).toEqual([
        'TrellisProxyNacks',
        'TrellisPolicyRejected',
        'TrellisProxiesStale',
        'TrellisCertificateExpiring',
        'TrellisCertificateExpired',
        'TrellisSourceDisconnected',
      ]);
      const byName = new Map(rules.map((r) => [r.alert, r]));
      expect(byName.get('TrellisProxiesStale')?.expr).toMatch(/trellis_xds_oldest_stale_seconds\) > 60$/);
      expect(byName.get('TrellisCertificateExpiring')?.expr).toMatch(/trellis_cert_expiry_seconds\) < 7200$/);
      // Prometheus's own templates reach the rule unexpanded by Helm.
      expect(byName.get('TrellisPolicyRejected')?.annotations.summary).toContain('{{ $labels.policy }}');
      for (const r of rules) expect(['warning', 'critical']).toContain(r.labels.severity);
    },
    TIMEOUT,
  );

  it('a schema error is found (the check can fail)', () => {
    const bad = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'x' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up', for: 5 }] }] } };
    expect(() => new PrometheusRule(bad as never).validate()).toThrow(/for/);
  });

  it('refuses a misspelt monitoring value and an expiry threshold under a minute', async () => {
    for (const args of [
      ['--set', 'monitoring.prometheusRule.enable=true'],
      ['--set', 'monitoring.prometheusRule.certExpirySeconds=5'],
    ]) {
      const r = await helm('template', 'trellis', CHART, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
    }
  });
});
