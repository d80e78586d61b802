import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/envoy/protos.ts';
import { decodeDeltaRequest, decodeSotwRequest, isMalformed } from '../../src/xds/wire.ts';

/** Cluster names past 1 KiB in all. */
const LONG = Array.from({ length: 40 }, (_, i) => `outbound|80||svc-${String(i).padStart(5, '0')}.bench-00.svc.cluster.local`);

let nonce = 0;

/** The digest of a request naming `names` (a new nonce each time: only the names make the digest). */
function namesDigest(names: string[]): string {
  const r = decodeSotwRequest(encode('envoy.service.discovery.v3.DiscoveryRequest', { type_url: 't', resource_names: names, response_nonce: String(++nonce) }));
  if (isMalformed(r)) throw new Error(r.malformed);
  return r.namesDigest;
}

function encode(typeName: string, value: Record<string, unknown>): Buffer {
  const type = messageType(typeName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

describe('request decoding', () => {
  it('turns the node, its metadata and locality into plain data', () => {
    const buf = encode('envoy.service.discovery.v3.DiscoveryRequest', {
      node: {
        id: 'sidecar~10.0.0.1~web-1.default',
        cluster: 'web',
        user_agent_name: 'envoy',
        user_agent_version: '1.31.0',
        locality: { region: 'eu', zone: 'eu-1a' },
        metadata: {
          fields: {
            NAMESPACE: { stringValue: 'default' },
            REPLICAS: { numberValue: 3 },
            MESH: { boolValue: false },
            LABELS: { structValue: { fields: { app: { stringValue: 'web' } } } },
            PORTS: { listValue: { values: [{ numberValue: 80 }] } },
          },
        },
      },
      type_url: 't',
      resource_names: ['a', 'b'],
    });
    const decoded = decodeSotwRequest(buf);
    if (isMalformed(decoded)) throw new Error(decoded.malformed);
    expect(decoded.names()).toEqual(['a', 'b']);
    expect({ ...decoded, names: undefined, namesDigest: undefined }).toEqual({
      version_info: '',
      names: undefined,
      namesDigest: undefined,
      type_url: 't',
      response_nonce: '',
      node: {
        id: 'sidecar~10.0.0.1~web-1.default',
        cluster: 'web',
        metadata: { LABELS: { app: 'web' }, MESH: false, NAMESPACE: 'default', PORTS: [80], REPLICAS: 3 },
        locality: { region: 'eu', zone: 'eu-1a', sub_zone: '' },
        userAgent: 'envoy/1.31.0',
        userAgentName: 'envoy',
        userAgentVersion: '1.31.0',
      },
    });
  });

  it('carries a NACK error and leaves out what was not sent', () => {
    const sotw = decodeSotwRequest(
      encode('envoy.service.discovery.v3.DiscoveryRequest', { type_url: 't', response_nonce: '3', error_detail: { code: 3, message: 'bad' } }),
    );
    if (isMalformed(sotw)) throw new Error(sotw.malformed);
    expect(sotw.names()).toEqual([]);
    expect({ ...sotw, names: undefined }).toEqual({
      version_info: '',
      names: undefined,
      namesDigest: '',
      type_url: 't',
      response_nonce: '3',
      error_detail: { code: 3, message: 'bad' },
    });
    const delta = decodeDeltaRequest(encode('envoy.service.discovery.v3.DeltaDiscoveryRequest', { type_url: 't', initial_resource_versions: { a: '1' } }));
    expect(delta).toEqual({
      type_url: 't',
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: { a: '1' },
      response_nonce: '',
    });
  });

  it.each([
    [['a', 'b'], ['a', 'b'], true],
    [['a', 'b'], ['b', 'a'], false],
    [['ab'], ['a', 'b'], false],
    [['a', ''], ['a', ''], true],
    [['a', ''], ['a'], false],
    [[], [], true],
  ])('gives names %j and %j the same digest: %s', (one, two, same) => {
    expect(namesDigest(one) === namesDigest(two)).toBe(same);
  });

  it('gives a run of names past 1 KiB (hashed, not kept as text) the same digest for the same names only', () => {
    const other = [...LONG.slice(0, -1), 'outbound|80||other.bench-00.svc.cluster.local'];
    expect(namesDigest([...LONG])).toBe(namesDigest(LONG));
    expect(namesDigest(LONG)).not.toMatch(/^raw:/);
    expect(namesDigest(other)).not.toBe(namesDigest(LONG));
    expect(namesDigest(LONG.slice(1))).not.toBe(namesDigest(LONG));
  });

  it('reports bytes that do not decode as malformed instead of throwing', () => {
    const result = decodeSotwRequest(Buffer.from([0x7f, 0x01]));
    expect(isMalformed(result)).toBe(true);
  });
});
