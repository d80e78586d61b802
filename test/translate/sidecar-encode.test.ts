import { describe, expect, it } from 'vitest';
import { encodeMessage, EncodeError } from '../../src/envoy/codec.ts';
import { messageNameOf, TypeUrl, type ResourceKind } from '../../src/envoy/types.ts';
import { translateSidecar } from '../../src/translate/sidecar.ts';
import { CART_PROXY, mesh, WEB_PROXY } from './model-fixtures.ts';

const KINDS: ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];

function encodeErrors(kind: ResourceKind, message: object): string[] {
  try {
    encodeMessage(messageNameOf(TypeUrl[kind]), message);
    return [];
  } catch (err) {
    return err instanceof EncodeError ? err.issues.map((i) => `${i.field}: ${i.message}`) : [String(err)];
  }
}

describe('sidecar resources encode as Envoy accepts them', () => {
  it.each(KINDS.flatMap((kind) => [WEB_PROXY, CART_PROXY].map((proxy) => [kind, proxy] as const)))('every %s of %j', (kind, proxy) => {
    const t = translateSidecar(mesh(), proxy);
    const failures = t.resources[kind].flatMap((r) => encodeErrors(kind, r.message).map((e) => `${r.name}: ${e}`));
    expect(failures).toEqual([]);
  });

  it.each<[ResourceKind, string, (m: Record<string, unknown>) => Record<string, unknown>]>([
    ['cluster', 'outbound|80||web.default.svc.cluster.local', (m) => ({ ...m, conect_timeout: { seconds: 1 } })],
    ['listener', 'virtualOutbound', (m) => ({ ...m, default_filter_chain: { filters: [{ name: '' }] } })],
    ['route', '80', (m) => ({ ...m, virtual_hosts: [{ name: 'x', domains: [] }] })],
  ])('would catch a broken %s (%s)', (kind, name, spoil) => {
    const r = translateSidecar(mesh(), WEB_PROXY).resources[kind].find((x) => x.name === name);
    expect(r).toBeDefined();
    expect(encodeErrors(kind, spoil(r!.message as Record<string, unknown>)).length).toBeGreaterThan(0);
  });
});
