import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago (bound, then released). For the few servers that
 * refuse port 0 (grpc-js-xds's XdsServer), and for a port where nothing listens.
 */
export function releasedLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
