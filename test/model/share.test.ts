/**
 * A change costs what it changes (issue 14): the model built after a change shares with the one
 * before every service and workload whose content is the same (src/model/share.ts), and the
 * sidecars' outbound translation gives the same resource objects for them (src/translate/sidecar-outbound.ts),
 * which the snapshot cache then finds by identity; what the change touched is new.
 */
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.ts';
import { parseManifests } from '../../src/sources/manifests/index.ts';
import { sidecarOutbound } from '../../src/translate/sidecar-outbound.ts';

function mesh(webAddress: string): string {
  const service = (name: string): string =>
    `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { clusterIP: 10.96.0.${name === 'web' ? 10 : 11}, selector: { app: ${name} }, ports: [{ name: http, port: 80, targetPort: 8080 }] }\n`;
  const slice = (name: string, address: string): string =>
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: ${name}-1, namespace: shop, labels: { kubernetes.io/service-name: ${name} } }\naddressType: IPv4\nendpoints: [{ addresses: [${address}], conditions: { ready: true } }]\nports: [{ name: http, port: 8080 }]\n`;
  return [service('web'), slice('web', webAddress), service('api'), slice('api', '10.0.0.2')].join('---\n');
}

describe('one model and the next', () => {
  const first = buildModel(parseManifests([{ path: 'mesh.yaml', text: mesh('10.0.0.1') }]).inputs);
  const second = buildModel(parseManifests([{ path: 'mesh.yaml', text: mesh('10.0.0.9') }]).inputs, undefined, first);
  const byName = (m: typeof first, name: string) => m.services.find((s) => s.name === name);

  it('share every service whose content did not change; the one whose endpoints changed is new', () => {
    expect(byName(second, 'api')).toBe(byName(first, 'api'));
    expect(byName(second, 'web')).not.toBe(byName(first, 'web'));
    expect(JSON.stringify(byName(second, 'web'))).toContain('10.0.0.9');
  });

  it('the sidecars get the very same cluster and load assignment objects for the unchanged service, new ones for the changed one', () => {
    const [a, b] = [sidecarOutbound(first), sidecarOutbound(second)];
    const pick = (o: typeof a, kind: 'clusters' | 'endpoints', name: string) => o[kind].find((r) => r.name.includes(`||${name}.`));
    expect(pick(b, 'clusters', 'api')).toBe(pick(a, 'clusters', 'api'));
    expect(pick(b, 'endpoints', 'api')).toBe(pick(a, 'endpoints', 'api'));
    expect(pick(b, 'endpoints', 'web')).not.toBe(pick(a, 'endpoints', 'web'));
    expect(JSON.stringify(pick(b, 'endpoints', 'web'))).toContain('10.0.0.9');
    // Everything else about the outbound resources is as if translated from scratch.
    expect(JSON.stringify(b)).toBe(JSON.stringify(sidecarOutbound(buildModel(parseManifests([{ path: 'mesh.yaml', text: mesh('10.0.0.9') }]).inputs))));
  });
});
