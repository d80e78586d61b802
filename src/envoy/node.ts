/**
 * The node a proxy identifies itself with on the first request of its stream, as plain JSON: what
 * the xDS server decodes and translation classifies. Nothing here depends on gRPC or protobuf.
 */
export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  /** node.metadata as plain JSON. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  readonly userAgent: string;
}
