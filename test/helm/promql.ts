/**
 * The metric names a PromQL expression reads, by Prometheus's own Lezer grammar (@prometheus-io/lezer-promql), and
 * the metric families a /metrics exposition declares. Grafana's variables are replaced by plain values first.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's interval macros and dashboard variables, as the dashboard uses them, replaced by values PromQL takes. */
export function expandGrafana(expr: string): string {
  return expr.replace(/\$__(rate_)?interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*');
}

/** The metric names in a PromQL expression; a syntax error throws, naming where. */
export function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined) error = node.from;
      // A selector's name is the Identifier directly under its VectorSelector; `{__name__="m"}` names one too.
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(expr.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher' && /^__name__\s*=\s*"/.test(expr.slice(node.from, node.to))) {
        names.add(JSON.parse(expr.slice(node.from, node.to).replace(/^__name__\s*=\s*/, '')) as string);
      }
    },
  });
  if (error !== undefined) throw new Error(`PromQL does not parse at ${error}: ${expr.slice(0, error)} ⟨here⟩ ${expr.slice(error)}`);
  return [...names].sort();
}

/** The metric families a Prometheus text exposition declares (`# TYPE name type`), with their types. */
export function exportedFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

/** Whether a sample name belongs to a declared family: itself, or a histogram's or summary's _bucket, _sum and _count. */
export function isExported(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m?.[1]) return false;
  const type = families.get(m[1]);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}
