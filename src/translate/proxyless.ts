/**
 * Translation for proxyless gRPC applications (grpc-js-xds, grpc-go, grpc-java ...): everything one
 * namespace's proxyless proxies receive, as clients (API listeners, routes, clusters, endpoints —
 * the policies' subset clusters included — see proxyless-outbound.ts) and as xDS-enabled servers
 * (see proxyless-server.ts).
 *
 * Computed once per (model, namespace). The outbound resources do not depend on the namespace and
 * are computed once per model, so every namespace hands the cache the very same objects; each
 * service port's are made again only when its service changed (proxyless-outbound.ts), and a
 * namespace's lists equal to the last ones are those very lists.
 *
 * A client with a locality (its class says so: proxy.ts) receives, when some service port is
 * locality-aware, that port's assignment with priorities by its locality (policy/locality.ts):
 * built once per (model, locality), and the rest of the namespace's translation shared. Without
 * a locality-aware port, or without a locality, it receives exactly the namespace's translation.
 */
import type { Locality, MeshModel } from '../model/types.js';
import type { DesiredResource } from '../envoy/resources.js';
import type { ProxyDescriptor } from './proxy.js';
import { proxylessOutbound, type ProxylessOutbound } from './proxyless-outbound.js';
import { proxylessServerListeners } from './proxyless-server.js';
import { proxylessTargets } from './names.js';
import { meshIndex } from './policy/mesh-index.js';
import { byName, keepEqual, Memo, perModel, sortErrors, type Translation } from './translation.js';
import { localityKey } from './endpoints.js';
import { noLocalityNotes, withLocality } from './policy/locality.js';

interface ModelMemo {
  readonly outbound: ProxylessOutbound;
  readonly byNamespace: Memo<Translation>;
  /** By localityKey: the assignments of a client in that locality. */
  readonly endpoints: Memo<readonly DesiredResource<'endpoint'>[]>;
  /** By [namespace, localityKey]. */
  readonly byLocality: Memo<Translation>;
}

const memoFor = perModel((model): ModelMemo => ({
  outbound: proxylessOutbound(model.services, meshIndex(model), model),
  byNamespace: new Memo(),
  endpoints: new Memo(),
  byLocality: new Memo(),
}));

/**
 * The lists last made for each namespace, whatever the model: equal content is handed out again as
 * those very lists (an endpoint change leaves clusters, listeners and routes the lists they were),
 * which the snapshot cache then skips.
 */
const lastResources = new Memo<{ made?: Translation['resources'] }>();
const NO_SECRETS: readonly DesiredResource<'secret'>[] = [];

function build(model: MeshModel, outbound: ProxylessOutbound, namespace: string): Translation {
  const listeners: DesiredResource<'listener'>[] = [];
  for (const sp of outbound.ports) {
    for (const name of proxylessTargets(sp.service, sp.port.port, namespace)) {
      const listener = sp.listeners.get(name);
      if (listener) listeners.push(listener);
    }
  }
  const servers = proxylessServerListeners(model, namespace);
  listeners.push(...servers.listeners);
  const held = lastResources.get(namespace, () => ({}));
  const resources = {
    cluster: keepEqual(byName([...outbound.ports.map((p) => p.cluster), ...outbound.subsets.map((s) => s.cluster)]), held.made?.cluster),
    endpoint: keepEqual(
      byName([...outbound.ports.flatMap((p) => (p.endpoint ? [p.endpoint] : [])), ...outbound.subsets.map((s) => s.endpoint)]),
      held.made?.endpoint,
    ),
    listener: keepEqual(byName(listeners), held.made?.listener),
    route: keepEqual(byName(outbound.ports.map((p) => p.route)), held.made?.route),
    secret: NO_SECRETS,
  };
  held.made = resources;
  return {
    resources,
    // This translation is for clients without a locality (or for all, with no locality-aware port).
    diagnostics: sortErrors([...outbound.errors, ...servers.notes, ...noLocalityNotes(outbound.localityAware)]),
  };
}

/** The namespace's translation with the locality-aware assignments built for `locality`. */
function forLocality(m: ModelMemo, base: Translation, namespace: string, locality: Locality): Translation {
  const key = localityKey(locality);
  return m.byLocality.get(JSON.stringify([namespace, key]), () => {
    // Every namespace's translation lists the same assignments: build them once per locality.
    const endpoint = m.endpoints.get(key, () => withLocality(base.resources.endpoint, m.outbound.localityAware, locality));
    // The namespace's diagnostics but the notes for clients without a locality.
    const noLocality = new Set(noLocalityNotes(m.outbound.localityAware));
    return { resources: { ...base.resources, endpoint: [...endpoint] }, diagnostics: base.diagnostics.filter((d) => !noLocality.has(d)) };
  });
}

/**
 * The resources of the proxyless proxies of one namespace. The same model and namespace give back
 * the same Translation object (and the same resource objects across namespaces where they agree).
 */
export function translateProxyless(model: MeshModel, proxy: ProxyDescriptor & { mode: 'proxyless' }): Translation {
  const m = memoFor(model);
  const base = m.byNamespace.get(proxy.namespace, () => build(model, m.outbound, proxy.namespace));
  if (!proxy.locality || m.outbound.localityAware.size === 0) return base;
  return forLocality(m, base, proxy.namespace, proxy.locality);
}
