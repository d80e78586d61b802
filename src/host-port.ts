/**
 * `host:port` as URLs, gRPC targets and messages write it: an IPv6 literal in brackets
 * (`[fd00::1]:15010`), a name or an IPv4 address as it is.
 *
 * A leaf module: it imports nothing, so every layer may use it.
 */

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
