/**
 * What one proxy holds, in the JSON shape of Envoy's own admin `/config_dump`
 * (envoy/admin/v3/config_dump.proto, config_dump_shared.proto), so that the tools and habits operators
 * have for Envoy's dump work on Trellis's view of it.
 */
import { TypeUrl, type ResourceKind } from '../envoy/types.js';
import { compareText } from '../diagnostics.js';
import type { HeldResource, HeldResources, NackRecord } from '../xds/status.js';
import { redactSensitive } from './redact.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

export const DUMP_TYPE: Readonly<Record<ResourceKind, string>> = {
  cluster: `${ADMIN}ClustersConfigDump`,
  endpoint: `${ADMIN}EndpointsConfigDump`,
  listener: `${ADMIN}ListenersConfigDump`,
  route: `${ADMIN}RoutesConfigDump`,
  secret: `${ADMIN}SecretsConfigDump`,
};

/** The order of Envoy's own dump. */
export const DUMP_ORDER: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];

/** envoy.admin.v3.UpdateFailureState, without `failed_configuration` (the rejected resources are not known). */
export interface UpdateFailureState {
  readonly details: string;
  /** RFC 3339, as proto3 JSON writes a google.protobuf.Timestamp. */
  readonly last_update_attempt: string;
  readonly version_info: string;
}

export type ConfigDumpEntry = Readonly<Record<string, unknown>> & { readonly '@type': string };

export interface ConfigDump {
  readonly configs: readonly ConfigDumpEntry[];
}

export function failureState(nack: NackRecord): UpdateFailureState {
  return {
    details: nack.message,
    last_update_attempt: new Date(nack.at).toISOString(),
    version_info: nack.rejectedVersion,
  };
}

/** The resource as an `Any` in proto3 JSON: its type URL under `@type`, sensitive fields redacted. */
function packed(kind: ResourceKind, held: HeldResource): Record<string, unknown> {
  const redacted = redactSensitive(held.resource);
  const fields = redacted !== null && typeof redacted === 'object' ? redacted : {};
  return { '@type': TypeUrl[kind], ...fields };
}

function dynamicEntries(kind: ResourceKind, resources: readonly HeldResource[]): Record<string, unknown>[] {
  const sorted = [...resources].sort((a, b) => compareText(a.name, b.name));
  return sorted.map((held) => {
    const version_info = held.version;
    const resource = packed(kind, held);
    switch (kind) {
      case 'cluster':
        return { version_info, cluster: resource };
      case 'endpoint':
        return { version_info, endpoint_config: resource };
      case 'listener':
        return { name: held.name, active_state: { version_info, listener: resource } };
      case 'route':
        return { version_info, route_config: resource };
      case 'secret':
        return { name: held.name, version_info, secret: resource };
    }
  });
}

/** One `*ConfigDump`; an empty one (as Envoy emits) when the proxy holds nothing of this kind. */
function dumpOf(kind: ResourceKind, held: HeldResources | undefined): ConfigDumpEntry {
  const entries = dynamicEntries(kind, held?.resources ?? []);
  const version_info = held?.versionAcked ?? '';
  const body: Record<string, unknown> = (() => {
    switch (kind) {
      case 'cluster':
        return { version_info, dynamic_active_clusters: entries };
      case 'endpoint':
        return { dynamic_endpoint_configs: entries };
      case 'listener':
        return { version_info, dynamic_listeners: entries };
      case 'route':
        return { dynamic_route_configs: entries };
      case 'secret':
        return { dynamic_active_secrets: entries };
    }
  })();
  // Envoy keeps an UpdateFailureState per rejected resource; the NACK does not say which resource it
  // was, so the failure is reported once, for the whole type, at the level of this dump.
  const error = held?.lastError === undefined ? {} : { error_state: failureState(held.lastError) };
  return { '@type': DUMP_TYPE[kind], ...body, ...error };
}

/** The config dump of one proxy, from what it has acked of each type. */
export function buildConfigDump(held: readonly HeldResources[]): ConfigDump {
  const byKind = new Map(held.map((h) => [h.kind, h]));
  return { configs: DUMP_ORDER.map((kind) => dumpOf(kind, byKind.get(kind))) };
}
