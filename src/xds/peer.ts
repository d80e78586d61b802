/**
 * Who is on the other end of a stream of the secure xDS port: a workload identity proven by a
 * ServiceAccount token (TokenReview) or by a client certificate of the mesh. Streams of the
 * plaintext port have none, and receive no Secrets.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { NodeInfo } from '../envoy/node.js';

export interface PeerIdentity {
  /** `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>` */
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod the token is bound to, when it is. */
  readonly pod?: string;
  readonly via: 'token' | 'certificate';
}

/**
 * Proves who opened a stream, from its metadata and TLS session; rejects with a StreamError
 * (UNAUTHENTICATED: no or bad credentials).
 */
export type Authenticate = (call: ServerDuplexStream<unknown, unknown>) => Promise<PeerIdentity>;

/** Why `node` may not be served to `peer` (PERMISSION_DENIED), or undefined when it may. */
export type Authorize = (peer: PeerIdentity, node: NodeInfo) => string | undefined;
