/**
 * Mutual TLS between workloads, as the model decided it (model/mtls.ts: a mode per service port and
 * workload port, endpoints in the mesh, each service's identities). Nothing here when mTLS is off:
 * every resource is then exactly what it is without this module.
 *
 * Envoy sidecars take their certificate and the trust bundle from two SDS Secrets over ADS
 * (`default`, `ROOTCA`: envoy/contract.ts); the resources only name them, so they stay shared
 * between proxies and the xDS server fills the Secrets per proxy.
 *
 *   outbound cluster   STRICT: a TLS transport socket for every endpoint. PERMISSIVE: a transport
 *                      socket match picking TLS for endpoints whose metadata
 *                      (`envoy.transport_socket_match`: `trellis.dev/tls-mode: mesh`, written on the
 *                      endpoints of Pods with that label) says they are in the mesh; the rest fall
 *                      back to the cluster's own transport socket, plaintext. Headless services
 *                      (ORIGINAL_DST: no endpoint metadata) get TLS only when STRICT.
 *                      UpstreamTlsContext: SDS `default`, SDS `ROOTCA`, SANs the exact identities of
 *                      the service's pods, SNI `outbound_.<port>_._.<host>`, ALPN `trellis` (and h2 on
 *                      HTTP/2 ports, which a gRPC server needs negotiated).
 *   virtualInbound     per workload port — STRICT: one chain whose DownstreamTlsContext requires a
 *                      client certificate chaining to ROOTCA with a URI SAN in the trust domain;
 *                      PERMISSIVE: tls_inspector on the listener, that chain matched on TLS with ALPN
 *                      `trellis`, and the plaintext chain beside it. With --mtls-mode STRICT the
 *                      passthrough chain (ports no service or container declares) requires mTLS too.
 *
 * Proxyless gRPC (gRFC A29, grpc-js-xds XdsChannelCredentials / XdsServerCredentials) uses the
 * certificate provider instance of its bootstrap (`default`), and reads SANs only from
 * `match_subject_alt_names`:
 *
 *   client cluster     STRICT ports only: TLS to every endpoint. A gRPC cluster has one transport
 *                      socket (no per-endpoint choice) and gRPC offers only ALPN h2, never `trellis`,
 *                      so it could not reach a PERMISSIVE sidecar's TLS chain: to PERMISSIVE ports it
 *                      speaks plaintext, which they accept.
 *   server listener    STRICT: TLS requiring a client certificate. PERMISSIVE: plaintext. A gRPC
 *                      server cannot accept both on one port: it refuses listener filters (no
 *                      tls_inspector), and gRFC A36 filter chains that match a transport protocol
 *                      other than raw_buffer, or ALPN, never match. Plaintext is what PERMISSIVE
 *                      promises every client; a server Pod labelled `trellis.dev/tls-mode: mesh`
 *                      would be sent mTLS by sidecars, and gets a warning (proxyless-server.ts).
 */
import { sortedRefs, type ObjectRef } from '../diagnostics.js';
import { typed } from '../envoy/codec.js';
import { CERTIFICATE_PROVIDER_INSTANCE, SDS_SECRET } from '../envoy/contract.js';
import type { Cluster } from '../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import type { Metadata } from '../envoy/generated/envoy/config/core/v3/Metadata.js';
import type { TransportSocket } from '../envoy/generated/envoy/config/core/v3/TransportSocket.js';
import type { FilterChain } from '../envoy/generated/envoy/config/listener/v3/FilterChain.js';
import type { ListenerFilter } from '../envoy/generated/envoy/config/listener/v3/ListenerFilter.js';
import type { TlsInspector } from '../envoy/generated/envoy/extensions/filters/listener/tls_inspector/v3/TlsInspector.js';
import type { CommonTlsContext } from '../envoy/generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js';
import type { DownstreamTlsContext } from '../envoy/generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.js';
import type { SdsSecretConfig } from '../envoy/generated/envoy/extensions/transport_sockets/tls/v3/SdsSecretConfig.js';
import type { SubjectAltNameMatcher } from '../envoy/generated/envoy/extensions/transport_sockets/tls/v3/SubjectAltNameMatcher.js';
import type { UpstreamTlsContext } from '../envoy/generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js';
import type { Struct } from '../envoy/generated/google/protobuf/Struct.js';
import type { Value } from '../envoy/generated/google/protobuf/Value.js';
import type { StringMatcher } from '../envoy/generated/envoy/type/matcher/v3/StringMatcher.js';
import { TLS_MODE_LABEL, TLS_MODE_MESH } from '../model/inputs.js';
import type { AppProtocol, MeshModel, ModelService, MtlsMode } from '../model/types.js';
import { fieldSources } from '../policy/merge.js';
import { ADS_CONFIG_SOURCE, FILTER_NAME, isHttp, isHttp2, MESSAGE } from './common.js';
import { MESH_TLS_MATCH, outboundSni } from './names.js';
import type { PortContext } from './policy/types.js';

/** The ALPN a sidecar offers with mesh mTLS; a PERMISSIVE inbound tells mesh mTLS from other TLS by it. */
export const MESH_ALPN = 'trellis';

/** Envoy's filter metadata namespace that cluster transport socket matches read. */
const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

/**
 * A Struct of strings. The codec's root spells google.protobuf.Value as protobufjs's bundled
 * struct.proto does (`stringValue`); the generated types say `string_value`, which the codec
 * would refuse as an unknown field. The wire encoding is by field number, the same either way.
 */
function stringStruct(fields: Readonly<Record<string, string>>): Struct {
  const values: Record<string, Value> = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }]));
  return { fields: values };
}

/** What an endpoint in the mesh and the PERMISSIVE clusters' match both say: `trellis.dev/tls-mode: mesh`. */
const MESH_FIELDS = { [TLS_MODE_LABEL]: TLS_MODE_MESH } as const;

/** The metadata of a sidecar's endpoint in the mesh: its PERMISSIVE cluster's match picks mTLS for it. */
export const MESH_ENDPOINT_METADATA: Metadata = { filter_metadata: { [TRANSPORT_SOCKET_MATCH]: stringStruct(MESH_FIELDS) } };

/** The mTLS mode in force on a service port, if any: none when mTLS is off or the service is outside the mesh. */
export function modeOf(ctx: PortContext): MtlsMode | undefined {
  return ctx.port.mtls;
}

/** The policies that decided the port's mode (a NACK of what it shaped is traced to them). */
export function mtlsPolicySources(ctx: PortContext): ObjectRef[] {
  return ctx.port.mtls ? fieldSources(ctx.port.policy, 'mtls.mode') : [];
}

/** The trust domain's SPIFFE prefix: `spiffe://<trust domain>/`. */
function trustDomainPrefix(trustDomain: string): string {
  return `spiffe://${trustDomain}/`;
}

/**
 * What a client accepts in an endpoint's certificate: the exact identities of the service's pods,
 * sorted; any identity of the trust domain when the model knows none (no pod of it is known).
 */
function peerMatchers(service: ModelService, trustDomain: string): StringMatcher[] {
  const ids = service.identities ?? [];
  return ids.length > 0 ? ids.map((exact) => ({ exact })) : [{ prefix: trustDomainPrefix(trustDomain) }];
}

function sds(name: string): SdsSecretConfig {
  return { name, sds_config: ADS_CONFIG_SOURCE };
}

function tlsSocket(message: string, context: object): TransportSocket {
  return { name: FILTER_NAME.tlsTransportSocket, typed_config: typed(message, context) };
}

/** A sidecar's certificate (SDS `default`) and the trust bundle (SDS `ROOTCA`), with these SAN checks. */
function sidecarCommon(sans: readonly SubjectAltNameMatcher[], alpn: readonly string[]): CommonTlsContext {
  return {
    ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
    tls_certificate_sds_secret_configs: [sds(SDS_SECRET.certificate)],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [...sans] },
      validation_context_sds_secret_config: sds(SDS_SECRET.trustBundle),
    },
  };
}

// ------------------------------------------------------------------------------------------
// Envoy sidecars

/** The TLS a sidecar speaks to the endpoints of a service port (`ctx`). */
function sidecarUpstream(ctx: PortContext, trustDomain: string): TransportSocket {
  const sans = peerMatchers(ctx.service, trustDomain).map((matcher): SubjectAltNameMatcher => ({ san_type: 'URI', matcher }));
  const context: UpstreamTlsContext = {
    sni: outboundSni(ctx.service.hostname, ctx.port.port),
    common_tls_context: sidecarCommon(sans, isHttp2(ctx.port.protocol) ? [MESH_ALPN, 'h2'] : [MESH_ALPN]),
  };
  return tlsSocket(MESSAGE.upstreamTlsContext, context);
}

/**
 * A sidecar's outbound cluster of the service port `ctx` (or of one of its subsets) with its mTLS:
 * the very same object when the port has no mode, or is PERMISSIVE on a headless service.
 */
export function withSidecarMtls(cluster: Cluster, ctx: PortContext, model: Pick<MeshModel, 'trustDomain'>): Cluster {
  const mode = modeOf(ctx);
  if (mode === 'STRICT') return { ...cluster, transport_socket: sidecarUpstream(ctx, model.trustDomain) };
  if (mode !== 'PERMISSIVE' || cluster.type !== 'EDS') return cluster;
  const match = { name: MESH_TLS_MATCH, match: stringStruct(MESH_FIELDS), transport_socket: sidecarUpstream(ctx, model.trustDomain) };
  // Endpoints the match does not pick use the cluster's own transport socket: none, plaintext.
  return { ...cluster, transport_socket_matches: [match] };
}

/** Tells TLS from plaintext and reads the ALPN a client offers, for the filter chains of PERMISSIVE ports. */
export const TLS_INSPECTOR_FILTER: ListenerFilter = {
  name: FILTER_NAME.tlsInspector,
  typed_config: typed<TlsInspector>(MESSAGE.tlsInspector, {}),
};

/**
 * The TLS a sidecar's inbound chain terminates: its certificate, and a client certificate required,
 * chaining to the trust bundle, with a URI SAN in the trust domain. HTTP ports negotiate h2 or
 * http/1.1 (a gRPC client needs h2 negotiated); other ports offer no ALPN.
 */
export function sidecarInboundTls(protocol: AppProtocol | undefined, trustDomain: string): TransportSocket {
  const sans: SubjectAltNameMatcher[] = [{ san_type: 'URI', matcher: { prefix: trustDomainPrefix(trustDomain) } }];
  const context: DownstreamTlsContext = {
    common_tls_context: sidecarCommon(sans, protocol !== undefined && isHttp(protocol) ? ['h2', 'http/1.1'] : []),
    require_client_certificate: { value: true },
  };
  return tlsSocket(MESSAGE.downstreamTlsContext, context);
}

/**
 * The inbound chains of one workload port: the plaintext `chain` as it is without mTLS; with STRICT,
 * only its mTLS twin (`mtlsName`); with PERMISSIVE, the twin matched on TLS with ALPN `trellis`, then
 * the plaintext chain.
 */
export function inboundChains(chain: FilterChain, mtlsName: string, mode: MtlsMode | undefined, protocol: AppProtocol, trustDomain: string): FilterChain[] {
  if (!mode) return [chain];
  const tls = sidecarInboundTls(protocol, trustDomain);
  if (mode === 'STRICT') return [{ ...chain, name: mtlsName, transport_socket: tls }];
  const match = { ...chain.filter_chain_match, transport_protocol: 'tls', application_protocols: [MESH_ALPN] };
  return [{ ...chain, name: mtlsName, filter_chain_match: match, transport_socket: tls }, chain];
}

/** The sources an mTLS-shaped resource adds: the policies that set the mode, sorted with `base`. */
export function withMtlsSources(base: readonly ObjectRef[], contexts: readonly PortContext[]): ObjectRef[] {
  return sortedRefs([...base, ...contexts.flatMap(mtlsPolicySources)]);
}

// ------------------------------------------------------------------------------------------
// proxyless gRPC (gRFC A29)

const PROVIDER = { instance_name: CERTIFICATE_PROVIDER_INSTANCE };

/** A proxyless client's cluster of the service port `ctx` with its mTLS: TLS to every endpoint of a STRICT port; else the same object. */
export function withGrpcMtls(cluster: Cluster, ctx: PortContext, model: Pick<MeshModel, 'trustDomain'>): Cluster {
  if (modeOf(ctx) !== 'STRICT') return cluster;
  const context: UpstreamTlsContext = {
    common_tls_context: {
      tls_certificate_provider_instance: PROVIDER,
      validation_context: { ca_certificate_provider_instance: PROVIDER, match_subject_alt_names: peerMatchers(ctx.service, model.trustDomain) },
    },
  };
  return { ...cluster, transport_socket: tlsSocket(MESSAGE.upstreamTlsContext, context) };
}

/**
 * The TLS of a proxyless server's STRICT listener: its certificate and a client certificate
 * required, chaining to the roots of the same provider instance. gRPC does not check a client's
 * SANs on the server side, so none are listed (any certificate of the trust bundle is accepted).
 */
export function grpcServerTls(): TransportSocket {
  const context: DownstreamTlsContext = {
    common_tls_context: { tls_certificate_provider_instance: PROVIDER, validation_context: { ca_certificate_provider_instance: PROVIDER } },
    require_client_certificate: { value: true },
  };
  return tlsSocket(MESSAGE.downstreamTlsContext, context);
}
