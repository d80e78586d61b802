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
  /** `name/version` for logs and views. */
  readonly userAgent: string;
  /** node.user_agent_name and user_agent_version as sent (empty when not). */
  readonly userAgentName?: string;
  readonly userAgentVersion?: string;
}
