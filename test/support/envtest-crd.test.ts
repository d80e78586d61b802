/**
 * installCrds keeps what a CRD's YAML says, `x-kubernetes-*` keys included (client-node's serializer
 * drops them from plain objects).
 */
import { readFile } from 'node:fs/promises';
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sharedEnvtest } from './envtest.ts';

function countKey(value: unknown, key: string): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countKey(v, key), 0);
  if (typeof value !== 'object' || value === null) return 0;
  return Object.entries(value).reduce((n, [k, v]) => n + (k === key ? 1 : 0) + countKey(v, key), 0);
}

describe('envtest installCrds', () => {
  it('installs a CRD from YAML with every CEL rule it declares', async () => {
    const env = await sharedEnvtest();
    const yaml = await readFile('crds/trafficpolicy.yaml', 'utf8');
    const declared = (yaml.match(/x-kubernetes-validations:/g) ?? []).length;
    expect(declared).toBeGreaterThan(1);
    await env.installCrds([yaml]);
    const kc = new KubeConfig();
    kc.loadFromString(env.adminKubeconfig);
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'trafficpolicies.trellis.dev' });
    // client-node's model renames the key where it knows the node's type, and leaves it where it does not (items).
    const schema = crd.spec.versions[0]?.schema?.openAPIV3Schema;
    expect(countKey(schema, 'x_kubernetes_validations') + countKey(schema, 'x-kubernetes-validations')).toBe(declared);
  });
});
