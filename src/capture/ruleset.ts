/**
 * The traffic capture of a meshed Pod as one `iptables-restore` input for the nat table: outbound TCP
 * is redirected to Envoy's virtualOutbound (15001), inbound TCP to its virtualInbound (15006), the
 * original destination kept by REDIRECT (SO_ORIGINAL_DST). Left alone: Envoy's own traffic (its UID),
 * loopback destinations, Envoy's probe, health and stats ports, and the Pod's exclusions.
 *
 * The input replaces the whole nat table of the Pod's network namespace (no `--noflush`): restored
 * twice it leaves the same table, never a duplicated jump. IPv4 only: IPv6 CIDRs among the exclusions
 * are left out here (IPv6 traffic is not captured, so it is untouched anyway).
 */
import { PROXY_UID, SIDECAR_PORTS } from '../envoy/contract.js';

export interface CaptureOptions {
  /** The UID Envoy runs as; its traffic is never captured. */
  readonly proxyUid: number;
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  /** IPv4 and IPv6 CIDRs; the IPv4 ruleset uses the IPv4 ones. */
  readonly excludeOutboundCidrs: readonly string[];
}

export const DEFAULT_CAPTURE_OPTIONS: CaptureOptions = {
  proxyUid: PROXY_UID,
  excludeInboundPorts: [],
  excludeOutboundPorts: [],
  excludeOutboundCidrs: [],
};

/** Trellis's own chains in the nat table. */
export const CHAINS = {
  inbound: 'TRELLIS_INBOUND',
  inRedirect: 'TRELLIS_IN_REDIRECT',
  output: 'TRELLIS_OUTPUT',
  redirect: 'TRELLIS_REDIRECT',
} as const;

/** The built-in chains of the nat table, all declared so that a restore replaces the table. */
const BUILTIN = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] as const;

/** Inbound ports of Envoy itself, never redirected: probes, health, stats. */
const ENVOY_INBOUND_PORTS = [SIDECAR_PORTS.probes, SIDECAR_PORTS.health, SIDECAR_PORTS.stats];

const LOOPBACK_V4 = '127.0.0.0/8';

function sortedPorts(ports: readonly number[]): number[] {
  return [...new Set(ports)].sort((a, b) => a - b);
}

function isIpv4Cidr(cidr: string): boolean {
  return !cidr.includes(':');
}

/** The IPv4 nat table as `iptables-restore` input, deterministic for given options. */
export function captureRuleset(options: CaptureOptions): string {
  const inboundPorts = sortedPorts([...ENVOY_INBOUND_PORTS, ...options.excludeInboundPorts]);
  const outboundPorts = sortedPorts(options.excludeOutboundPorts);
  const cidrs = [...new Set(options.excludeOutboundCidrs.filter(isIpv4Cidr))].sort();
  const { inbound, inRedirect, output, redirect } = CHAINS;
  const lines = [
    '*nat',
    ...BUILTIN.map((c) => `:${c} ACCEPT [0:0]`),
    ...Object.values(CHAINS)
      .sort()
      .map((c) => `:${c} - [0:0]`),
    `-A PREROUTING -p tcp -j ${inbound}`,
    `-A OUTPUT -p tcp -j ${output}`,
    ...inboundPorts.map((p) => `-A ${inbound} -p tcp --dport ${p} -j RETURN`),
    `-A ${inbound} -p tcp -j ${inRedirect}`,
    `-A ${inRedirect} -p tcp -j REDIRECT --to-ports ${SIDECAR_PORTS.inbound}`,
    `-A ${output} -m owner --uid-owner ${options.proxyUid} -j RETURN`,
    `-A ${output} -d ${LOOPBACK_V4} -j RETURN`,
    ...outboundPorts.map((p) => `-A ${output} -p tcp --dport ${p} -j RETURN`),
    ...cidrs.map((c) => `-A ${output} -d ${c} -j RETURN`),
    `-A ${output} -p tcp -j ${redirect}`,
    `-A ${redirect} -p tcp -j REDIRECT --to-ports ${SIDECAR_PORTS.outbound}`,
    'COMMIT',
  ];
  return `${lines.join('\n')}\n`;
}
