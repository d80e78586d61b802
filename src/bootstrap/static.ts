/** Static resources the bootstrap builds in code rather than in the template. */

const HTTP2_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

/** A STATIC cluster of one host:port, over HTTP/2 when asked. */
export function hostPortCluster(name: string, host: string, port: number, http2: boolean): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
    ...(http2 ? { typed_extension_protocol_options: HTTP2_OPTIONS } : {}),
  };
}
