/**
 * What only proxyless gRPC needs to know: which ports gRPC clients and servers use, and which
 * addresses gRPC accepts.
 */
import { isIP } from 'node:net';
import type { ModelServicePort } from '../model/types.js';

/**
 * Ports a gRPC client may dial and a gRPC server may serve: every HTTP-family port (grpc, http2,
 * and http, since a gRPC channel speaks HTTP/2 to whatever it dials). TCP ports never.
 */
export function isGrpcPort(port: Pick<ModelServicePort, 'protocol'>): boolean {
  return port.protocol !== 'tcp';
}

/** gRPC rejects a whole ClusterLoadAssignment or Listener whose address is not an IP literal. */
export function isIpLiteral(address: string): boolean {
  return isIP(address) !== 0;
}
