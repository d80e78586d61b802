import { describe, expect, it } from 'vitest';
import { checkFields, decodeAny, encodeAny, encodeMessage, EncodeError, typed } from '../../src/envoy/codec.ts';
import { kindOfTypeUrl, TypeUrl } from '../../src/envoy/types.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

describe('encodeMessage', () => {
  it('round-trips a cluster through an Any', () => {
    const bytes = encodeMessage(CLUSTER, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
    expect(decodeAny(encodeAny(TypeUrl.cluster, bytes))).toEqual({
      '@type': TypeUrl.cluster,
      name: 'c',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {} } },
    });
  });

  it.each([
    ['a misspelt top-level field', { name: 'c', conect_timeout: { seconds: 1 } }, 'conect_timeout', 'unknown field of envoy.config.cluster.v3.Cluster'],
    ['a misspelt nested field', { name: 'c', eds_cluster_config: { eds_confg: {} } }, 'eds_cluster_config.eds_confg', 'unknown field'],
    ['an unknown enum name', { name: 'c', lb_policy: 'ROUND_ROBBIN' }, 'lb_policy', 'unknown LbPolicy value "ROUND_ROBBIN"'],
    ['a scalar where a message belongs', { name: 'c', connect_timeout: 5 }, 'connect_timeout', 'expected a google.protobuf.Duration object'],
    ['a misspelt field in a list', { name: 'c', health_checks: [{ timeout: { seconds: 1 }, intervl: {} }] }, 'health_checks[0].intervl', 'unknown field'],
  ])('refuses %s, naming the path', (_label, value, path, message) => {
    let error: unknown;
    try {
      encodeMessage(CLUSTER, value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EncodeError);
    const issue = (error as EncodeError).issues.find((i) => i.field === path);
    expect(issue?.message).toContain(message);
  });

  it('checks fields inside a typed Any', () => {
    const listener = {
      name: 'l',
      api_listener: { api_listener: typed(HCM, { rds: { route_config_nam: 'r' }, http_filters: [] }) },
    };
    expect(checkFields('envoy.config.listener.v3.Listener', listener)).toEqual([
      {
        severity: 'error',
        field: 'api_listener.api_listener.rds.route_config_nam',
        message: 'unknown field of envoy.extensions.filters.network.http_connection_manager.v3.Rds',
      },
    ]);
  });

  it('refuses an Any of a type that is not loaded, instead of encoding it empty', () => {
    const issues = checkFields('envoy.config.listener.v3.Listener', {
      name: 'l',
      api_listener: { api_listener: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.no_such.v3.Thing', x: 1 } },
    });
    expect(issues).toEqual([{ severity: 'error', field: 'api_listener.api_listener.@type', message: expect.stringContaining('is not loaded') }]);
  });

  it('encodes the same content to the same bytes', () => {
    const a = encodeMessage(CLUSTER, { name: 'c', connect_timeout: { seconds: 2 } });
    const b = encodeMessage(CLUSTER, { connect_timeout: { seconds: 2 }, name: 'c' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe('encodeMessage, a long list of messages', () => {
  const ROUTES = 'envoy.config.route.v3.RouteConfiguration';
  const host = (i: number) => ({ name: `h${i}`, domains: [`h${i}.example`], routes: [{ match: { prefix: '/' }, route: { cluster: `c${i}` } }] });
  const config = (hosts: object[]) => ({ name: 'r', virtual_hosts: hosts, validate_clusters: { value: false } });

  it('decodes to what it was made of, in order, and gives the same bytes for the same content', () => {
    const hosts = Array.from({ length: 40 }, (_, i) => host(i));
    const bytes = encodeMessage(ROUTES, config(hosts));
    expect(decodeAny(encodeAny(TypeUrl.route, bytes))).toEqual({ '@type': TypeUrl.route, ...config(hosts) });
    const again = encodeMessage(ROUTES, config(structuredClone(hosts)));
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it('names a bad element by its place, however often it is given', () => {
    const hosts = Array.from({ length: 40 }, (_, i) => host(i));
    const bad = { ...host(99), domain: ['x'] };
    for (const at of [20, 3]) {
      const list = [...hosts];
      list.splice(at, 0, bad);
      let error: unknown;
      try {
        encodeMessage(ROUTES, config(list));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(EncodeError);
      expect((error as EncodeError).issues.map((i) => i.field)).toEqual([`virtual_hosts[${at}].domain`]);
    }
  });

  it('still applies Envoy’s rules to an element given before in a valid list', () => {
    const hosts = Array.from({ length: 40 }, (_, i) => host(i));
    encodeMessage(ROUTES, config(hosts));
    const empty = { name: 'e', domains: [], routes: [] };
    expect(() => encodeMessage(ROUTES, config([...hosts, empty]))).toThrow(/virtual_hosts\[40\]\.domains: must have at least 1 item/);
  });
});

describe('type URLs', () => {
  it('maps every served type URL back to its kind, and nothing else', () => {
    for (const [kind, url] of Object.entries(TypeUrl)) expect(kindOfTypeUrl(url)).toBe(kind);
    expect(kindOfTypeUrl('type.googleapis.com/envoy.service.runtime.v3.Runtime')).toBeUndefined();
  });
});
