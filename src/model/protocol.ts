/**
 * Which protocol a port speaks: the port's appProtocol first, then its name's prefix (http, http2,
 * grpc, tcp — `http-web`, `grpc`, `tcp-db`), and TCP when neither says.
 */
import type { AppProtocol } from './types.js';

const APP_PROTOCOLS: Readonly<Record<string, AppProtocol>> = {
  http: 'http',
  http2: 'http2',
  'kubernetes.io/h2c': 'http2',
  h2c: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  tcp: 'tcp',
};

const PREFIXES: readonly AppProtocol[] = ['http2', 'http', 'grpc', 'tcp'];

export function protocolOf(port: { name?: string; appProtocol?: string }): AppProtocol {
  const declared = port.appProtocol?.toLowerCase();
  if (declared && APP_PROTOCOLS[declared]) return APP_PROTOCOLS[declared];
  const name = (port.name ?? '').toLowerCase();
  for (const p of PREFIXES) {
    if (name === p || name.startsWith(`${p}-`)) return p;
  }
  return 'tcp';
}
