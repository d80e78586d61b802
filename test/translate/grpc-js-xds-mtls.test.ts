/**
 * Mutual TLS needs no grpc-js-xds 1.14 workaround (src/translate/client-quirks/grpc-js-xds-1.14.ts):
 * with grpc-js-xds's own decoding and comparison (the code its xds-client.js runs), a running client
 * sees a cluster turn STRICT, turn back, and change its SANs, and a server sees its listener gain
 * TLS. grpc-js-xds 1.14 compares a resource by the keys of the one it holds (grpc/grpc-node#3074),
 * but its decoded cluster always has `securityUpdate` and its decoded listener `transport_socket`
 * (null when absent), so the change is never a key only the new one has. Should a grpc-js-xds upgrade
 * decode them otherwise, these fail, and a workaround goes into the quirks module.
 */
import { createRequire } from 'node:module';
import * as grpcXds from '@grpc/grpc-js-xds';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/envoy/codec.ts';
import { messageNameOf, TypeUrl } from '../../src/envoy/types.ts';
import type { MeshModel, MtlsMode } from '../../src/model/types.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import { renderTestBootstrap } from '../support/xds-app.ts';
import { endpoint, modelOf, port, service, workload } from './model-fixtures.ts';

const require = createRequire(import.meta.url);

interface Decoded {
  value?: object;
  error?: string;
}
interface ResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): Decoded;
  resourcesEqual(held: object | null, received: object | null): boolean;
}
type Singleton = { get(): ResourceType };

grpcXds.register();
const BUILD = '@grpc/grpc-js-xds/build/src';
const CLUSTERS = (require(`${BUILD}/xds-resource-type/cluster-resource-type.js`) as { ClusterResourceType: Singleton }).ClusterResourceType.get();
const LISTENERS = (require(`${BUILD}/xds-resource-type/listener-resource-type.js`) as { ListenerResourceType: Singleton }).ListenerResourceType.get();
const { validateBootstrapConfig } = require(`${BUILD}/xds-bootstrap.js`) as { validateBootstrapConfig: (o: object) => { xdsServers: object[] } };

const PROVIDERS = {
  default: {
    plugin_name: 'file_watcher',
    config: { certificate_file: '/nowhere/tls.crt', private_key_file: '/nowhere/tls.key', ca_certificate_file: '/nowhere/ca.crt', refresh_interval: '60s' },
  },
};
const BOOTSTRAP = validateBootstrapConfig(renderTestBootstrap({ xdsServer: '127.0.0.1:1', nodeId: 'mtls', certificateProviders: PROVIDERS }));
const CONTEXT = { server: BOOTSTRAP.xdsServers[0], bootstrap: BOOTSTRAP };

function decoded(type: ResourceType, kind: 'cluster' | 'listener', message: object): object {
  const url = TypeUrl[kind];
  const result = type.decode(CONTEXT, { type_url: url, value: Buffer.from(encodeMessage(messageNameOf(url), message)) });
  if (!result.value) throw new Error(`grpc-js-xds rejects it: ${result.error ?? '?'}`);
  return result.value;
}

const NS = 'default';
const CLUSTER = 'outbound|50051||greeter.default.svc.cluster.local';
const LISTENER = 'grpc/server?xds.resource.listening_address=10.0.0.1:50051';

/** greeter (grpc 50051, one endpoint, the pod greeter-0) with mTLS off, or on with this mode and these identities. */
function mesh(mode?: MtlsMode, identities: string[] = ['spiffe://cluster.local/ns/default/sa/greeter']): MeshModel {
  const p = { ...port('grpc', 50051, 'grpc', [endpoint('10.0.0.1', 50051, 'zone-a')]), ...(mode ? { mtls: mode } : {}) };
  const svc = { ...service(NS, 'greeter', { clusterIP: '10.96.0.11', ports: [p] }), ...(mode ? { identities } : {}) };
  const w = workload(NS, 'greeter-0', '10.0.0.1', [{ name: 'grpc', port: 50051, protocol: 'grpc', ...(mode ? { mtls: mode } : {}) }], [`${NS}/greeter`]);
  const m = modelOf([svc], [w]);
  return mode ? { ...m, mtls: { defaultMode: mode } } : m;
}

function resource(m: MeshModel, kind: 'cluster' | 'listener', name: string): object {
  const r = translateProxyless(m, { mode: 'proxyless', namespace: NS }).resources[kind].find((x) => x.name === name);
  if (!r) throw new Error(`no ${kind} ${name}`);
  return r.message;
}

/** Whether a client holding the first takes the second for no change. */
function unchanged(kind: 'cluster' | 'listener', held: MeshModel, received: MeshModel, name: string): boolean {
  const type = kind === 'cluster' ? CLUSTERS : LISTENERS;
  return type.resourcesEqual(decoded(type, kind, resource(held, kind, name)), decoded(type, kind, resource(received, kind, name)));
}

describe('grpc-js-xds 1.14 sees every mTLS change of a resource it holds', () => {
  it.each([
    ['a plaintext cluster turning STRICT', mesh(), mesh('STRICT')],
    ['a STRICT cluster turning PERMISSIVE (plaintext)', mesh('STRICT'), mesh('PERMISSIVE')],
    [
      'a STRICT cluster whose service gains an identity',
      mesh('STRICT'),
      mesh('STRICT', ['spiffe://cluster.local/ns/default/sa/greeter', 'spiffe://cluster.local/ns/default/sa/new']),
    ],
    ['a STRICT cluster whose service’s identity changes', mesh('STRICT'), mesh('STRICT', ['spiffe://cluster.local/ns/default/sa/other'])],
  ])('%s', (_what, held, received) => {
    expect(unchanged('cluster', held, held, CLUSTER)).toBe(true);
    expect(unchanged('cluster', held, received, CLUSTER)).toBe(false);
  });

  it.each([
    ['a plaintext server listener turning STRICT', mesh('PERMISSIVE'), mesh('STRICT')],
    ['a STRICT server listener turning plaintext', mesh('STRICT'), mesh()],
  ])('%s', (_what, held, received) => {
    expect(unchanged('listener', held, held, LISTENER)).toBe(true);
    expect(unchanged('listener', held, received, LISTENER)).toBe(false);
  });
});
