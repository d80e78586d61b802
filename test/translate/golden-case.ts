/**
 * A golden case's options, from the first document of its input.yaml (kind GoldenCase):
 *
 *   apiVersion: golden.trellis.dev/v1
 *   kind: GoldenCase
 *   mtls: STRICT            # optional: as `trellis serve --issuer --mtls-mode STRICT` (or PERMISSIVE); absent: no workload certificates
 *   proxies:
 *     - { id: web-1.shop, mode: sidecar }
 *     - { id: client.shop, mode: proxyless }
 *     - { id: near.shop, mode: proxyless, locality: { region: eu, zone: eu-a, subZone: rack-1 } }
 *
 * A proxy's `locality` (every part optional) is its node.locality, as its bootstrap would set it.
 */
import { parseAllDocuments } from 'yaml';
import { DEFAULT_MODEL_OPTIONS, type ModelOptions } from '../../src/model/build.ts';
import type { NodeInfo } from '../../src/envoy/node.ts';

export const INPUT = 'input.yaml';

export interface GoldenProxy {
  id: string;
  mode: 'sidecar' | 'proxyless';
  locality?: { region?: string; zone?: string; subZone?: string };
}

export interface CaseOptions {
  proxies: GoldenProxy[];
  /** What the model is built with: mutual TLS as the case's `mtls` says. */
  model: ModelOptions;
}

export function optionsOf(text: string): CaseOptions {
  const first = parseAllDocuments(text)[0]?.toJS() as { kind?: string; proxies?: GoldenProxy[]; mtls?: unknown } | undefined;
  if (first?.kind !== 'GoldenCase') throw new Error(`${INPUT}: the first document must be a GoldenCase`);
  const mtls = first.mtls;
  if (mtls !== undefined && mtls !== 'STRICT' && mtls !== 'PERMISSIVE')
    throw new Error(`${INPUT}: mtls must be STRICT or PERMISSIVE, not ${JSON.stringify(mtls)}`);
  return {
    proxies: first.proxies ?? [],
    model: mtls === undefined ? DEFAULT_MODEL_OPTIONS : { ...DEFAULT_MODEL_OPTIONS, mtls: { enabled: true, defaultMode: mtls } },
  };
}

/** The node a golden proxy connects as. */
export function nodeOf(p: GoldenProxy): NodeInfo {
  const l = p.locality;
  return {
    id: p.id,
    cluster: '',
    metadata: { PROXY_MODE: p.mode },
    userAgent: '',
    ...(l ? { locality: { region: l.region, zone: l.zone, sub_zone: l.subZone } } : {}),
  };
}
