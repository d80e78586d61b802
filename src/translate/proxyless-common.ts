/**
 * Pieces every proxyless gRPC resource shares: the HTTP connection manager and router type names,
 * the ADS config source, which ports gRPC clients and servers use, and small list helpers.
 */
import { isIP } from 'node:net';
import { typed } from '../envoy/codec.js';
import type { HttpFilter } from '../envoy/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { ModelServicePort } from '../model/types.js';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

/** Resources of another type fetched over the same ADS stream. */
export const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

/** The router filter: gRPC (like Envoy) requires it, and last. */
export function routerFilter(): HttpFilter {
  return { name: ROUTER_FILTER_NAME, typed_config: typed(ROUTER_TYPE, {}) };
}

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

export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byName<T extends { readonly name: string }>(a: T, b: T): number {
  return byString(a.name, b.name);
}

/** Sorted, without duplicates. */
export function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(byString);
}
