/**
 * Translation for proxyless gRPC applications (grpc-js-xds, grpc-go, grpc-java ...): everything one
 * namespace's proxyless proxies receive, as clients (API listeners, routes, clusters, endpoints —
 * the policies' subset clusters included — see proxyless-outbound.ts) and as xDS-enabled servers
 * (see proxyless-server.ts).
 *
 * Computed once per (model, namespace). The outbound resources do not depend on the namespace and
 * are computed once per model, so every namespace hands the cache the very same objects.
 */
import type { MeshModel } from '../model/types.js';
import type { DesiredResource } from '../xds/cache.js';
import type { ProxyDescriptor } from './proxy.js';
import { proxylessOutbound, type ProxylessOutbound } from './proxyless-outbound.js';
import { proxylessServerListeners } from './proxyless-server.js';
import { proxylessTargets } from './names.js';
import { meshIndex } from './policy/mesh-index.js';
import { byName, sortErrors, type Translation } from './translation.js';

interface ModelMemo {
  readonly outbound: ProxylessOutbound;
  readonly byNamespace: Map<string, Translation>;
}

const memo = new WeakMap<MeshModel, ModelMemo>();

function memoFor(model: MeshModel): ModelMemo {
  let m = memo.get(model);
  if (!m) {
    m = { outbound: proxylessOutbound(model.services, meshIndex(model)), byNamespace: new Map() };
    memo.set(model, m);
  }
  return m;
}

function build(model: MeshModel, outbound: ProxylessOutbound, namespace: string): Translation {
  const listeners: DesiredResource<'listener'>[] = [];
  for (const sp of outbound.ports) {
    for (const name of proxylessTargets(sp.service, sp.port.port, namespace)) {
      const listener = sp.listeners.get(name);
      if (listener) listeners.push(listener);
    }
  }
  listeners.push(...proxylessServerListeners(model, namespace));
  return {
    resources: {
      cluster: byName([...outbound.ports.map((p) => p.cluster), ...outbound.subsets.map((s) => s.cluster)]),
      endpoint: byName([...outbound.ports.flatMap((p) => (p.endpoint ? [p.endpoint] : [])), ...outbound.subsets.map((s) => s.endpoint)]),
      listener: byName(listeners),
      route: byName(outbound.ports.map((p) => p.route)),
      secret: [],
    },
    errors: sortErrors(outbound.errors),
  };
}

/**
 * The resources of the proxyless proxies of one namespace. The same model and namespace give back
 * the same Translation object (and the same resource objects across namespaces where they agree).
 */
export function translateProxyless(model: MeshModel, proxy: ProxyDescriptor & { mode: 'proxyless' }): Translation {
  const m = memoFor(model);
  let t = m.byNamespace.get(proxy.namespace);
  if (!t) {
    t = build(model, m.outbound, proxy.namespace);
    m.byNamespace.set(proxy.namespace, t);
  }
  return t;
}
