/**
 * The generated files of the chart are what `npm run gen` makes now (regenerated in memory and compared): the RBAC
 * from sources/kube/rbac.ts, the CRD templates from crds/, values.schema.json from the values' zod schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GENERATED_CRD_TEMPLATE, renderChartFiles, renderRbacTemplate } from '../../src/config/helm-chart.ts';
import { KUBE_RBAC_RULES } from '../../src/sources/kube/rbac.ts';
import { CHART, one, render, REPO } from './support.ts';

const crds = Object.fromEntries(
  readdirSync(join(REPO, 'crds'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, readFileSync(join(REPO, 'crds', f), 'utf8')]),
);
const generated = renderChartFiles(crds);

describe('generated chart files', () => {
  it.each(Object.keys(generated))('%s is what npm run gen makes (run `npm run gen` when this fails)', (path) => {
    expect(readFileSync(join(CHART, path), 'utf8'), `helm/trellis/${path} is stale: run \`npm run gen\``).toBe(generated[path]);
  });

  it('no CRD template is left over from a CRD no longer in crds/', () => {
    const templates = readdirSync(join(CHART, 'templates')).filter((f) => GENERATED_CRD_TEMPLATE.test(f));
    expect(templates.map((f) => `templates/${f}`).sort()).toEqual(Object.keys(generated).filter((p) => p.startsWith('templates/crd-')));
  });

  it('a change of the rules changes the RBAC template (the comparison can fail)', () => {
    const fewer = { ...KUBE_RBAC_RULES, leaseNamespace: KUBE_RBAC_RULES.leaseNamespace.slice(1) };
    expect(renderRbacTemplate(fewer)).not.toBe(generated['templates/rbac.yaml']);
  });

  it('renders the rules of rbac.ts into the ClusterRole and the Role, bound to the ServiceAccount the Deployment runs as', async () => {
    const objects = await render();
    const strip = (rules: unknown) => JSON.parse(JSON.stringify(rules)) as unknown;
    expect(one(objects, 'ClusterRole', 'trellis').rules).toEqual(strip(KUBE_RBAC_RULES.clusterWide));
    expect(one(objects, 'Role', 'trellis').rules).toEqual(strip(KUBE_RBAC_RULES.leaseNamespace));
    const subjects = [{ kind: 'ServiceAccount', name: 'trellis', namespace: 'trellis-system' }];
    expect(one(objects, 'ClusterRoleBinding', 'trellis')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'trellis' }, subjects });
    expect(one(objects, 'RoleBinding', 'trellis')).toMatchObject({ metadata: { namespace: 'trellis-system' }, roleRef: { kind: 'Role', name: 'trellis' }, subjects });
    const deployment = one(objects, 'Deployment', 'trellis') as unknown as { spec: { template: { spec: { serviceAccountName: string } } } };
    expect(deployment.spec.template.spec.serviceAccountName).toBe(one(objects, 'ServiceAccount').metadata.name);
  });

  it('renders each CRD of crds/ as it is there, kept by helm uninstall', async () => {
    const objects = await render();
    const crd = one(objects, 'CustomResourceDefinition', 'trafficpolicies.trellis.dev');
    expect(crd.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    const source = parse(crds['trafficpolicy.yaml'] ?? '') as { spec: unknown };
    expect(crd.spec).toEqual(source.spec);
  });
});

describe('values.schema.json', () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Record<string, unknown>;

  it('is draft-07', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('closes every object with properties (a typo is an error), maps only where values are a map', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      if (n.type === 'object' && n.properties !== undefined && n.additionalProperties !== false) open.push(path);
      if (n.type === 'object' && n.properties === undefined && typeof n.additionalProperties !== 'object') open.push(`${path} (no properties, no map)`);
      for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, unknown>)) walk(v, `${path}.${k}`);
      walk(n.items, `${path}[]`);
      if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}.*`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });
});
