/**
 * The upstream HTTP protocol options of a cluster (envoy.extensions.upstreams.http.v3.HttpProtocolOptions):
 * which HTTP version the sidecar speaks to the port, and options a policy sets (the idle timeout).
 */
import { typed } from '../envoy/codec.js';
import type { Cluster } from '../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { HttpProtocolOptions as CommonHttpProtocolOptions } from '../envoy/generated/envoy/config/core/v3/HttpProtocolOptions.js';
import type { HttpProtocolOptions } from '../envoy/generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions.js';
import type { AppProtocol } from '../model/types.js';
import { isHttp2, MESSAGE } from './common.js';

function upstreamHttpOptions(options: HttpProtocolOptions): NonNullable<Cluster['typed_extension_protocol_options']> {
  return { [MESSAGE.upstreamHttpProtocolOptions]: typed<HttpProtocolOptions>(MESSAGE.upstreamHttpProtocolOptions, options) };
}

/** The upstream HTTP/2 option, for the ports that need it; the very same object each time. */
const HTTP2_OPTIONS = upstreamHttpOptions({ explicit_http_config: { http2_protocol_options: {} } });

/**
 * The upstream HTTP protocol options of a port. Without `common`: HTTP/2 for the ports that need
 * it (the very same object each time), none for the others. With `common` (options a policy sets,
 * such as the idle timeout; HTTP-family ports only), merged with the port's HTTP version.
 */
export function protocolOptions(protocol: AppProtocol, common?: CommonHttpProtocolOptions): Pick<Cluster, 'typed_extension_protocol_options'> {
  if (!common) return isHttp2(protocol) ? { typed_extension_protocol_options: HTTP2_OPTIONS } : {};
  const explicit_http_config = isHttp2(protocol) ? { http2_protocol_options: {} } : { http_protocol_options: {} };
  return { typed_extension_protocol_options: upstreamHttpOptions({ explicit_http_config, common_http_protocol_options: common }) };
}
