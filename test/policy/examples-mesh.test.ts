/**
 * The example policies applied to the example mesh (`trellis validate --manifests examples`): every
 * policy is accepted and attached, and every proxy of the mesh (each pod's sidecar, and a proxyless
 * client per namespace) gets its configuration without an error; what gRPC lacks is only a warning.
 * The same holds as a Trellis with workload certificates sees them (`--mtls PERMISSIVE`): no example
 * needs certificates, and none is wrong with them.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel, DEFAULT_MODEL_OPTIONS } from '../../src/model/build.ts';
import { formatDiagnostic } from '../../src/diagnostics.ts';
import { parseManifests, readManifestDir } from '../../src/sources/manifests/index.ts';
import { describeNode } from '../../src/translate/proxy.ts';
import { translate } from '../../src/translate/translate.ts';
import { repo } from './cases.ts';

const inputs = parseManifests(await readManifestDir(join(repo, 'examples'))).inputs;
const model = buildModel(inputs);

describe('the example policies on the example mesh', () => {
  it('are all accepted and attached', () => {
    expect(model.policies.length).toBeGreaterThanOrEqual(10);
    for (const p of model.policies) {
      expect(
        p.conditions.find((c) => c.type === 'Accepted'),
        p.name,
      ).toMatchObject({ status: 'True' });
      expect(p.attachedTo.length, p.name).toBeGreaterThan(0);
    }
    expect(model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('with workload certificates too, nothing is an error', () => {
    const withCertificates = buildModel(inputs, { ...DEFAULT_MODEL_OPTIONS, mtls: { enabled: true, defaultMode: 'PERMISSIVE' } });
    expect(withCertificates.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  });

  const proxies = [
    ...model.workloads.map((w) => ({ id: `${w.name}.${w.namespace}`, mode: 'sidecar' as const })),
    ...[...new Set(model.services.map((s) => s.namespace))].map((ns) => ({ id: `app.${ns}`, mode: 'proxyless' as const })),
  ];

  it.each(proxies)('translate without errors for $id ($mode)', ({ id, mode }) => {
    const t = translate(model, describeNode({ id, cluster: '', metadata: { PROXY_MODE: mode }, userAgent: '' }));
    expect(t.diagnostics.filter((e) => e.severity === 'error')).toEqual([]);
    expect(t.resources.cluster.length).toBeGreaterThan(0);
  });
});
