/**
 * Sidecar clusters.
 *
 *   outbound|<port>||<hostname>   one per service port:
 *                                   ClusterIP     EDS (endpoints in endpoints.ts, over ADS)
 *                                   Headless      ORIGINAL_DST: clients dial pod IPs themselves, the
 *                                                 sidecar connects to the address they dialled
 *                                   ExternalName  STRICT_DNS to the external name, on the service port
 *   inbound|<port>||              STATIC to 127.0.0.1:<port>, the application
 *   PassthroughCluster            ORIGINAL_DST: outbound traffic to destinations outside the mesh
 *   InboundPassthroughCluster     ORIGINAL_DST bound to 127.0.0.6: inbound traffic to ports the
 *                                 workload does not declare (the source address lets the capture
 *                                 rules tell it from the application's own outbound traffic, as
 *                                 Istio's iptables rules do)
 *
 * HTTP/2 and gRPC ports speak HTTP/2 upstream.
 */
import { type Diagnostic, type ObjectRef } from '../diagnostics.js';
import type { Cluster } from '../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { AppProtocol, MeshModel, ModelService, ModelServicePort, WorkloadPort } from '../model/types.js';
import { DEFAULT_MODEL_OPTIONS } from '../model/build.js';
import type { DesiredResource } from '../envoy/resources.js';
import { inboundCluster, outboundCluster, SIDECAR } from './names.js';
import { ADS_CONFIG_SOURCE, CONNECT_TIMEOUT, LOCALHOST, socketAddress } from './common.js';
import { clusterPolicySources, withClusterPolicy } from './policy/cluster.js';
import { protocolOptions } from './protocol-options.js';
import { withMtlsSources, withSidecarMtls } from './mtls.js';
import { translationError } from './translation.js';

/** The source address of inbound passthrough connections (Istio's convention). */
export const INBOUND_PASSTHROUGH_BIND_ADDRESS = '127.0.0.6';

/**
 * A cluster whose endpoints come over EDS on the same ADS stream. Proxyless gRPC takes it as it is;
 * sidecars add the upstream protocol options of the port (`protocol`).
 */
export function edsCluster(name: string, protocol?: AppProtocol): Cluster {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE },
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    ...(protocol ? protocolOptions(protocol) : {}),
  };
}

function originalDstCluster(name: string, protocol: AppProtocol): Cluster {
  return { name, type: 'ORIGINAL_DST', connect_timeout: CONNECT_TIMEOUT, lb_policy: 'CLUSTER_PROVIDED', ...protocolOptions(protocol) };
}

function dnsCluster(name: string, host: string, port: number, protocol: AppProtocol): Cluster {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }] },
    ...protocolOptions(protocol),
  };
}

/** True when the service port's cluster is of type EDS, and so has a ClusterLoadAssignment. */
export function hasEds(service: ModelService): boolean {
  return service.kind === 'ClusterIP';
}

/**
 * The outbound cluster of one service port, with its policy and its mutual TLS (mtls.ts), or an
 * error when the service lacks what its kind needs.
 */
export function outboundServiceCluster(
  service: ModelService,
  port: ModelServicePort,
  errors: Diagnostic[],
  model: Pick<MeshModel, 'trustDomain'> = DEFAULT_MODEL_OPTIONS,
): DesiredResource<'cluster'> | undefined {
  const name = outboundCluster(service.hostname, port.port);
  const ctx = { service, port, target: 'sidecar' } as const;
  const base = baseCluster(name, service, port, errors);
  if (!base) return undefined;
  return {
    name,
    message: withSidecarMtls(withClusterPolicy(base, ctx, errors), ctx, model),
    sources: withMtlsSources([service.source, ...clusterPolicySources(ctx)], [ctx]),
  };
}

function baseCluster(name: string, service: ModelService, port: ModelServicePort, errors: Diagnostic[]): Cluster | undefined {
  switch (service.kind) {
    case 'ClusterIP':
      return edsCluster(name, port.protocol);
    case 'Headless':
      return originalDstCluster(name, port.protocol);
    case 'ExternalName':
      if (!service.externalName) {
        errors.push(translationError(service.source, 'spec.externalName', 'an ExternalName service needs an external name; it gets no cluster'));
        return undefined;
      }
      return dnsCluster(name, service.externalName, port.port, port.protocol);
  }
}

/** Outbound traffic to destinations outside the mesh, sent on unchanged. */
export function passthroughCluster(): DesiredResource<'cluster'> {
  const name = SIDECAR.passthroughCluster;
  return { name, message: originalDstCluster(name, 'tcp'), sources: [] };
}

/** Inbound traffic to ports the workload does not declare, delivered unchanged. */
export function inboundPassthroughCluster(): DesiredResource<'cluster'> {
  const name = SIDECAR.inboundPassthroughCluster;
  const message: Cluster = {
    ...originalDstCluster(name, 'tcp'),
    upstream_bind_config: { source_address: { address: INBOUND_PASSTHROUGH_BIND_ADDRESS, port_value: 0 } },
  };
  return { name, message, sources: [] };
}

/** The cluster that delivers one workload port's inbound traffic to the application. */
export function inboundPortCluster(port: WorkloadPort, sources: readonly ObjectRef[]): DesiredResource<'cluster'> {
  const name = inboundCluster(port.port);
  const message: Cluster = {
    name,
    type: 'STATIC',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(LOCALHOST, port.port) } }] }] },
    ...protocolOptions(port.protocol),
  };
  return { name, message, sources };
}
