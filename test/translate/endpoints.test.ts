import { describe, expect, it } from 'vitest';
import { localityGroups, SIDECAR_ENDPOINTS } from '../../src/translate/endpoints.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { endpoint, locality, mesh, WEB_PROXY } from './model-fixtures.ts';
import { names, resource } from './sidecar-helpers.ts';

function socket(address: string, port: number) {
  return { address: { socket_address: { address, port_value: port } } };
}

describe('sidecar endpoints (EDS)', () => {
  it('groups endpoints by locality, each weighted by its number of endpoints', () => {
    const cla = resource(translateSidecar(mesh(), WEB_PROXY), 'endpoint', 'outbound|80||web.default.svc.cluster.local');
    expect(cla).toEqual({
      cluster_name: 'outbound|80||web.default.svc.cluster.local',
      endpoints: [
        {
          locality: { region: 'region-1', zone: 'zone-a' },
          load_balancing_weight: { value: 2 },
          lb_endpoints: [
            { endpoint: socket('10.0.1.1', 8080), health_status: 'HEALTHY' },
            { endpoint: socket('10.0.1.2', 8080), health_status: 'HEALTHY' },
          ],
        },
        {
          locality: { region: 'region-1', zone: 'zone-b' },
          load_balancing_weight: { value: 1 },
          lb_endpoints: [{ endpoint: socket('10.0.2.1', 8080), health_status: 'HEALTHY' }],
        },
      ],
    });
  });

  it.each([
    ['outbound|80||cart.shop.svc.cluster.local', 'DRAINING'],
    ['outbound|80||web.default.svc.cluster.local', 'HEALTHY'],
    ['outbound|5432||db.shop.svc.cluster.local', 'HEALTHY'],
  ])('%s: every endpoint is %s', (name, status) => {
    const cla = resource(translateSidecar(mesh(), WEB_PROXY), 'endpoint', name);
    const statuses = (cla.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => e.health_status));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([status]));
  });

  it('sends an empty assignment for a port without endpoints', () => {
    const cla = resource(translateSidecar(mesh(), WEB_PROXY), 'endpoint', 'outbound|8081||idle.shop.svc.cluster.local');
    expect(cla).toEqual({ cluster_name: 'outbound|8081||idle.shop.svc.cluster.local', endpoints: [] });
  });

  it.each(['outbound|8080||pods.shop.svc.cluster.local', 'outbound|80||ext.default.svc.cluster.local', 'inbound|8080||', 'PassthroughCluster'])(
    'has no assignment for %s, which is not an EDS cluster',
    (name) => {
      expect(names(translateSidecar(mesh(), WEB_PROXY), 'endpoint')).not.toContain(name);
    },
  );

  it.each([
    ['one locality', [endpoint('10.0.0.1', 80, 'a')], [['a', 1]]],
    [
      'localities sorted whatever the endpoint order',
      [endpoint('10.0.0.1', 80, 'b'), endpoint('10.0.0.2', 80, 'a'), endpoint('10.0.0.3', 80, 'b')],
      [
        ['a', 1],
        ['b', 2],
      ],
    ],
    ['none', [], []],
  ])('localityGroups: %s', (_label, endpoints, expected) => {
    expect(localityGroups(endpoints, SIDECAR_ENDPOINTS).map((g) => [g.locality?.zone, g.load_balancing_weight?.value])).toEqual(expected);
  });

  it('sets only the locality parts that are known, and keeps sub-zones apart', () => {
    const groups = localityGroups(
      [
        { ...endpoint('10.0.0.1', 80, 'a'), locality: locality('a', 'r', 's1') },
        { ...endpoint('10.0.0.2', 80, 'a'), locality: locality('a', 'r', 's2') },
        { ...endpoint('10.0.0.3', 80, ''), locality: locality('', '', '') },
      ],
      SIDECAR_ENDPOINTS,
    );
    expect(groups.map((g) => g.locality)).toEqual([{}, { region: 'r', zone: 'a', sub_zone: 's1' }, { region: 'r', zone: 'a', sub_zone: 's2' }]);
  });
});
