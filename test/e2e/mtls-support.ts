/**
 * What the proxyless mTLS tests share: the model buildModel makes for a STRICT greeter with workload
 * certificates on, and a bootstrap's `file_watcher` certificate provider on one workload's files.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MeshModel, ModelEndpoint, ModelService } from '../../src/model/types.ts';

export const NS = 'default';
export const GREETER_ID = `spiffe://cluster.local/ns/${NS}/sa/greeter`;

const run = promisify(execFile);

/** In `dir`: a CA (ca.crt, ca.key), then a P-256 key and certificate per name, signed by it, with the one URI SAN given (CN the name). */
export async function makePki(dir: string, leaves: Record<string, string>): Promise<void> {
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=trellis-test-ca', '-days', '1');
  let serial = 1;
  for (const [name, uri] of Object.entries(leaves)) {
    await ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await writeFile(join(dir, `${name}.ext`), `subjectAltName=URI:${uri}\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`);
    const sign = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(++serial), '-days', '1', '-extfile', `${name}.ext`];
    await ossl('x509', '-req', '-in', `${name}.csr`, ...sign, '-out', `${name}.crt`);
  }
}

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
