/**
 * What the proxyless mTLS tests share: the model buildModel makes for a STRICT greeter with workload
 * certificates on, and a bootstrap's `file_watcher` certificate provider on one workload's files.
 */
import { join } from 'node:path';
import type { MeshModel, ModelEndpoint, ModelService } from '../../src/model/types.ts';

export const NS = 'default';
export const GREETER_ID = `spiffe://cluster.local/ns/${NS}/sa/greeter`;

/** The bootstrap's `certificate_providers`: gRPC's file_watcher on `<dir>/<name>.crt|.key` and `<dir>/<ca>`. */
export function fileProviders(dir: string, name: string, opts: { ca?: string; refresh?: string } = {}) {
  return {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: join(dir, `${name}.crt`),
        private_key_file: join(dir, `${name}.key`),
        ca_certificate_file: join(dir, opts.ca ?? 'ca.crt'),
        refresh_interval: opts.refresh ?? '60s',
      },
    },
  };
}

function service(name: string, port: number, endpoints: ModelEndpoint[], identities: string[]): ModelService {
  return {
    namespace: NS,
    name,
    hostname: `${name}.${NS}.svc.cluster.local`,
    kind: 'ClusterIP',
    selector: { app: name },
    ports: [{ name: 'grpc', port, protocol: 'grpc', targetPort: 'grpc', endpoints, mtls: 'STRICT' }],
    identities,
    source: { kind: 'Service', namespace: NS, name },
  };
}

/**
 * The model buildModel makes with workload certificates on and --mtls-mode STRICT: greeter → the
 * xDS-enabled server, whose pod runs as the greeter service account; impostor → the same server,
 * but its pods are said to run as `someone-else`, so a client must refuse the greeter's certificate.
 */
export function strictMesh(serverPort: number): MeshModel {
  const endpoint: ModelEndpoint = {
    address: '127.0.0.1',
    port: serverPort,
    ready: true,
    locality: { region: '', zone: '', subZone: '' },
    source: { kind: 'EndpointSlice', namespace: NS, name: 'e2e' },
  };
  return {
    domain: 'cluster.local',
    trustDomain: 'cluster.local',
    mtls: { defaultMode: 'STRICT' },
    services: [service('greeter', 7070, [endpoint], [GREETER_ID]), service('impostor', 7071, [endpoint], [`spiffe://cluster.local/ns/${NS}/sa/someone-else`])],
    workloads: [],
    policies: [],
    diagnostics: [],
  };
}
