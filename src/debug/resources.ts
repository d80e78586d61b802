/**
 * `/debug/resources?proxy=ID`: what one proxy has acked, resource by resource, each with the source
 * objects that produced it (the Service, the TrafficPolicies that shaped it) — what the config dump,
 * being Envoy's shape, cannot carry. Sensitive fields are redacted as in the config dump.
 */
import { compareText, formatRef, sortedRefs } from '../diagnostics.js';
import { SHORT_NAME, type ResourceKind } from '../envoy/types.js';
import type { HeldResources, NackRecord } from '../xds/status.js';
import { DUMP_ORDER } from './config-dump.js';
import { redactSensitive } from './redact.js';

export interface ResourceView {
  readonly name: string;
  readonly version: string;
  /** Formatted references (`TrafficPolicy shop/web`), sorted. */
  readonly sources: readonly string[];
  readonly resource: unknown;
}

export interface ResourceTypeView {
  /** CDS, EDS, LDS, RDS, SDS */
  readonly type: string;
  readonly kind: ResourceKind;
  readonly versionAcked: string;
  readonly lastError?: NackRecord;
  /** Sorted by name. */
  readonly resources: readonly ResourceView[];
}

export interface ResourcesResponse {
  readonly proxy: string;
  readonly types: readonly ResourceTypeView[];
}

export function buildResources(proxy: string, held: readonly HeldResources[]): ResourcesResponse {
  const byKind = new Map(held.map((h) => [h.kind, h]));
  const types = DUMP_ORDER.flatMap((kind): ResourceTypeView[] => {
    const h = byKind.get(kind);
    if (!h) return [];
    const resources = [...h.resources]
      .sort((a, b) => compareText(a.name, b.name))
      .map((r) => ({ name: r.name, version: r.version, sources: sortedRefs(r.sources).map(formatRef), resource: redactSensitive(r.resource) }));
    return [{ type: SHORT_NAME[kind], kind, versionAcked: h.versionAcked, ...(h.lastError ? { lastError: h.lastError } : {}), resources }];
  });
  return { proxy, types };
}
