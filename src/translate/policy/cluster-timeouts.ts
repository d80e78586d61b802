/**
 * The cluster-level timeouts of a TrafficPolicy:
 *
 *   timeouts.connect  connect_timeout (Envoy rejects 0). gRPC does not read it (its connection
 *                     backoff has its own 20 s connect deadline): it is set all the same, harmless
 *                     and the same as the sidecars', with a note that it has no effect there.
 *   timeouts.idle     sidecar HTTP-family ports: the upstream HttpProtocolOptions'
 *                     common_http_protocol_options.idle_timeout (0 disables it), merged with the
 *                     port's HTTP version (clusters.ts protocolOptions). Proxyless: not implemented.
 *
 * Not here: the idle timeout of TCP ports (tcp_proxy, a listener setting) and the request and
 * per-try timeouts (routes).
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { Cluster } from '../../envoy/generated/envoy/config/cluster/v3/Cluster.js';
import { protocolOptions } from '../protocol-options.js';
import { isHttp } from '../common.js';
import { fieldDuration } from './duration.js';
import { notImplementedByGrpc } from './notes.js';
import type { PortContext } from './types.js';

function connectFields(ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  const connect = ctx.port.policy?.settings.timeouts?.connect;
  if (connect === undefined) return {};
  const connect_timeout = fieldDuration(ctx, 'timeouts.connect', connect, errors, true);
  if (!connect_timeout) return {};
  if (ctx.target === 'proxyless') {
    errors.push(
      notImplementedByGrpc(
        ctx,
        'timeouts.connect',
        'timeouts.connect',
        'gRPC connects with its own deadline (20 s, from its connection backoff); connect_timeout is set but has no effect',
      ),
    );
  }
  return { connect_timeout };
}

function idleFields(ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  const idle = ctx.port.policy?.settings.timeouts?.idle;
  if (idle === undefined) return {};
  if (ctx.target === 'proxyless') {
    errors.push(notImplementedByGrpc(ctx, 'timeouts.idle', 'timeouts.idle', 'it is left out'));
    return {};
  }
  if (!isHttp(ctx.port.protocol)) return {};
  const idle_timeout = fieldDuration(ctx, 'timeouts.idle', idle, errors, false);
  return idle_timeout ? protocolOptions(ctx.port.protocol, { idle_timeout }) : {};
}

/** The cluster fields of timeouts.connect and timeouts.idle (none when the policy sets neither). */
export function clusterTimeoutFields(ctx: PortContext, errors: Diagnostic[]): Partial<Cluster> {
  return { ...connectFields(ctx, errors), ...idleFields(ctx, errors) };
}
