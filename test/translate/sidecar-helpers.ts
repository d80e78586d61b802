/**
 * Reading a sidecar Translation in tests: a resource by name, and the HTTP connection managers and
 * tcp_proxies inside listeners, as plain objects.
 */
import { expect } from 'vitest';
import type { ResourceKind, ResourceMessages } from '../../src/envoy/types.ts';
import type { Translation } from '../../src/translate/translation.ts';
import { formatRef } from '../../src/diagnostics.ts';

export function names(t: Translation, kind: ResourceKind): string[] {
  return t.resources[kind].map((r) => r.name);
}

/** The message of the named resource; fails the test when it is missing. */
export function resource<K extends ResourceKind>(t: Translation, kind: K, name: string): ResourceMessages[K] {
  const found = (t.resources[kind] as { name: string; message: ResourceMessages[K] }[]).find((r) => r.name === name);
  expect(found, `${kind} ${name}`).toBeDefined();
  return found!.message;
}

export function sourcesOf(t: Translation, kind: ResourceKind, name: string): readonly string[] | undefined {
  return t.resources[kind].find((r) => r.name === name)?.sources?.map(formatRef);
}

type Json = Record<string, unknown>;

/** The typed_config of each network filter of a filter chain, by filter name. */
export function networkFilters(chain: { filters?: { name?: string; typed_config?: unknown }[] } | null | undefined): Json[] {
  return (chain?.filters ?? []).map((f) => ({ name: f.name, ...(f.typed_config as Json) }));
}

/** Every HTTP connection manager in a list of listeners, with where it sits. */
export function connectionManagers(listeners: readonly { name: string; message: ResourceMessages['listener'] }[]): { at: string; hcm: Json }[] {
  const out: { at: string; hcm: Json }[] = [];
  for (const l of listeners) {
    const chains = [...(l.message.filter_chains ?? []), ...(l.message.default_filter_chain ? [l.message.default_filter_chain] : [])];
    for (const chain of chains) {
      for (const f of networkFilters(chain)) {
        if (f.name === 'envoy.filters.network.http_connection_manager') out.push({ at: `${l.name}/${chain.name ?? ''}`, hcm: f });
      }
    }
  }
  return out;
}

export function isSorted(list: readonly string[]): boolean {
  return list.every((v, i) => i === 0 || list[i - 1]! < v);
}
