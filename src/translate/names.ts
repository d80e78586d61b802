/**
 * Resource names, in one place: they are part of Trellis's API (operators see them in config
 * dumps and stats; proxyless clients dial listener names).
 */
import { createHash } from 'node:crypto';
import { SERVER_LISTENER_TEMPLATE } from '../envoy/contract.js';
import type { ModelService } from '../model/types.js';
import { hostPort } from '../host-port.js';

/** `outbound|<port>||<service hostname>`: the cluster (and EDS resource) of one service port. */
export function outboundCluster(hostname: string, port: number): string {
  return `outbound|${port}||${hostname}`;
}

/** Subset names longer than this are replaced by a hash of the labels. */
const MAX_READABLE_SUBSET = 63;

/**
 * The name of the subset of a service's endpoints whose pods carry `labels`: the labels as
 * `key=value` pairs sorted by key and joined by ',' (`track=canary,version=v2`), which cannot
 * collide since label keys and values hold neither '=' nor ','; when that is longer than 63
 * characters, `h-` and 16 hex digits of the SHA-256 of that same text.
 */
export function subsetName(labels: Readonly<Record<string, string>>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join(',');
  if (text.length <= MAX_READABLE_SUBSET) return text;
  return `h-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/**
 * `outbound|<port>|<subset>|<service hostname>`: the cluster (and EDS resource) of the endpoints of
 * one service port that belong to a subset (Istio's shape), for the backends of a policy's routes.
 */
export function outboundSubsetCluster(hostname: string, port: number, subset: string): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

/** `inbound|<port>||`: the cluster that delivers inbound traffic to the application on 127.0.0.1. */
export function inboundCluster(port: number): string {
  return `inbound|${port}||`;
}

/** Sidecar listeners, clusters and virtual hosts (the shape operators know from Istio; their ports: envoy/contract.ts). */
export const SIDECAR = {
  outboundListener: 'virtualOutbound',
  inboundListener: 'virtualInbound',
  /** Traffic to destinations outside the mesh goes out unchanged. */
  passthroughCluster: 'PassthroughCluster',
  inboundPassthroughCluster: 'InboundPassthroughCluster',
  /** The filter chain of the sidecar listeners that carries traffic nothing else matched. */
  passthroughFilterChain: 'PassthroughFilterChain',
  inboundPassthroughFilterChain: 'InboundPassthroughFilterChain',
  /** The catch-all virtual host of outbound HTTP routes: unknown hosts go out unchanged. */
  allowAnyVirtualHost: 'allow_any',
} as const;

/** The outbound listener for all HTTP services on one port: `0.0.0.0_<port>`. */
export function outboundHttpListener(port: number): string {
  return `0.0.0.0_${port}`;
}

/** The outbound route configuration for all HTTP services on one port: `<port>`. */
export function outboundRoute(port: number): string {
  return String(port);
}

/** The virtual host of one service port in an outbound route configuration: `<service hostname>:<port>`. */
export function outboundVirtualHost(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/** The inline route configuration of an inbound HTTP port: `inbound|<port>||`. */
export function inboundRoute(port: number): string {
  return `inbound|${port}||`;
}

/** The single virtual host of that inline route configuration: `inbound|http|<port>`. */
export function inboundVirtualHost(port: number): string {
  return `inbound|http|${port}`;
}

/** The virtualInbound filter chain of one workload port: `inbound|<port>||`. */
export function inboundFilterChain(port: number): string {
  return `inbound|${port}||`;
}

/** The virtualInbound filter chain of one workload port that accepts mutual TLS: `inbound|<port>||mtls`. */
export function inboundMtlsFilterChain(port: number): string {
  return `inbound|${port}||mtls`;
}

/**
 * The SNI a sidecar sends with mutual TLS to a service port (its subset clusters send the same),
 * Istio's shape: `outbound_.<port>_._.<service hostname>`.
 */
export function outboundSni(hostname: string, port: number): string {
  return `outbound_.${port}_._.${hostname}`;
}

/** The transport socket match of an outbound sidecar cluster that picks mutual TLS for endpoints in the mesh. */
export const MESH_TLS_MATCH = 'mesh-mtls';

/** The outbound listener for one TCP service port: `<clusterIP>_<port>`. */
export function outboundTcpListener(clusterIP: string, port: number): string {
  return `${clusterIP}_${port}`;
}

/** The names a proxyless gRPC client may dial for a service port, in the client's namespace. */
export function proxylessTargets(service: ModelService, port: number, clientNamespace: string): string[] {
  const names = [`${service.hostname}:${port}`, `${service.name}.${service.namespace}:${port}`];
  if (service.namespace === clientNamespace) names.push(`${service.name}:${port}`);
  return names;
}

/** The listener a proxyless gRPC server listening on ip:port asks for. */
export function serverListener(ip: string, port: number): string {
  return SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(ip, port));
}
