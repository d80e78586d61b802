/**
 * The chart as Helm sees it: `helm lint --strict` and `helm template` for Kubernetes 1.29 and 1.33 over the defaults
 * and every values file of helm/trellis/ci; the same render twice is the same bytes; a typo in values fails; the
 * chart's versions and default images follow package.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmValuesSchema } from '../../src/config/helm-values.ts';
import { DEFAULT_ENVOY_IMAGE, DEFAULT_TRELLIS_IMAGE } from '../../src/inject/settings.ts';
import { CHART, helm, KUBE_VERSIONS, one, REPO, render, renderCases, templateText } from './support.ts';

const TIMEOUT = 120_000;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

describe('helm lint and helm template', () => {
  it.each(renderCases())(
    '$name: lints strictly and renders',
    async ({ args, kubeVersion }) => {
      const lint = await helm('lint', '--strict', CHART, '--namespace', 'trellis-system', '--kube-version', kubeVersion, ...args);
      expect(lint.code, `helm lint: ${lint.stdout}${lint.stderr}`).toBe(0);
      const objects = await render(args, kubeVersion);
      expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'MutatingWebhookConfiguration', 'CustomResourceDefinition']));
    },
    TIMEOUT,
  );

  it('refuses a Kubernetes older than 1.29 (kubeVersion)', async () => {
    const r = await helm('template', 'trellis', CHART, '--kube-version', '1.28.9');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('kubeVersion');
  });

  it.each(KUBE_VERSIONS)(
    'renders the same bytes twice (Kubernetes %s)',
    async (kubeVersion) => {
      const [a, b] = [await templateText([], kubeVersion), await templateText([], kubeVersion)];
      expect(a).toBe(b);
    },
    TIMEOUT,
  );

  it('uses no template function whose output changes from one render to the next', () => {
    const actions = readdirSync(join(CHART, 'templates')).flatMap((f) => readFileSync(join(CHART, 'templates', f), 'utf8').match(/\{\{[^]*?\}\}/g) ?? []);
    expect(actions.length).toBeGreaterThan(10);
    const nondeterministic = /\b(genCA|genSelfSignedCert|genSignedCert|genPrivateKey|rand[A-Za-z]*|lookup|now|date[A-Za-z]*|uuidv4|htpasswd|bcrypt)\b/;
    expect(actions.filter((a) => nondeterministic.test(a))).toEqual([]);
  });
});

describe('values', () => {
  it.each([
    ['an unknown top-level key', ['--set', 'replica=3']],
    ['a misspelt nested key', ['--set', 'image.tagg=1.0']],
    ['a misspelt key in a file-like structure', ['--set', 'certManager.issuer.knd=Issuer']],
    ['a value outside its enum', ['--set', 'proxy.nativeSidecars=maybe']],
    ['a malformed quantity', ['--set', 'resources.requests.memory=lots']],
  ])('%s fails the render (values.schema.json)', async (_, args) => {
    const r = await helm('template', 'trellis', CHART, ...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema|additional properties|value must be one of|does not match pattern/);
  });

  it('STRICT without workload certificates fails with a message naming the values', async () => {
    const r = await helm('template', 'trellis', CHART, '--set', 'mtls.enabled=false', '--set', 'mtls.mode=STRICT');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('mtls.mode STRICT needs workload certificates');
  });

  it('making the issuers needs a cert-manager.io ClusterIssuer', async () => {
    const r = await helm('template', 'trellis', CHART, '--set', 'certManager.issuer.kind=Issuer');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('certManager.createIssuers makes a cert-manager.io ClusterIssuer');
  });

  it("values.yaml is exactly the defaults of the values' zod schema", () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as unknown;
    expect(helmValuesSchema.parse(values)).toEqual(values);
    expect(values).toEqual(helmValuesSchema.parse({}));
  });

  it.each(readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml')))('ci/%s is valid for the zod schema too', (file) => {
    expect(helmValuesSchema.safeParse(parse(readFileSync(join(CHART, 'ci', file), 'utf8'))).error).toBeUndefined();
  });
});

describe('versions and images', () => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;

  it("Chart.yaml's version and appVersion are package.json's", () => {
    expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({ version: pkg.version, appVersion: pkg.version });
    expect(chart.kubeVersion).toBe('>=1.29.0-0');
  });

  it("the default image is Trellis's own at package.json's version, as injection's default", async () => {
    const deployment = one(await render(), 'Deployment', 'trellis') as unknown as {
      spec: { template: { spec: { containers: { image: string; args: string[] }[] } } };
    };
    const container = deployment.spec.template.spec.containers[0];
    expect(container?.image).toBe(`ghcr.io/trellis-mesh/trellis:${pkg.version}`);
    expect(container?.image).toBe(DEFAULT_TRELLIS_IMAGE);
    expect(container?.args).toContain(`--trellis-image=${DEFAULT_TRELLIS_IMAGE}`);
    expect(container?.args).toContain(`--proxy-image=${DEFAULT_ENVOY_IMAGE}`);
  });
});
