// The views of the proxies: the list (problems first, NACKs on top), one proxy, one resource.
import { badge, dl, empty, h, short, stateBadge, table, time } from './dom.js';
import { links, nacks, parsePolicyRef, proxiesProblemsFirst } from './model.js';

/** A source object as text, a TrafficPolicy as a link to it. */
export function sourceLink(text) {
  const policy = parsePolicyRef(text);
  return policy ? h('a', { href: links.policy(policy.namespace, policy.name) }, text) : h('span', null, text);
}

export function sourceList(sources) {
  if (sources.length === 0) return h('span', { class: 'muted' }, '(none recorded)');
  return h(
    'ul',
    { class: 'inline' },
    sources.map((s) => h('li', null, sourceLink(s))),
  );
}

function nackItem(n) {
  return h(
    'li',
    { class: 'nack' },
    h(
      'p',
      null,
      h('a', { href: links.proxy(n.proxyId) }, n.proxyId),
      ' ',
      n.type,
      ' ',
      n.current ? badge('REJECTED', 'error') : badge('EARLIER NACK', 'warn'),
      ' version ',
      h('code', null, short(n.error.rejectedVersion)),
      ' at ',
      time(n.error.at),
    ),
    h('pre', { class: 'message' }, n.error.message),
    h('p', null, 'From: ', sourceList(n.sources)),
  );
}

export function nackSection(list, heading = 'NACKs') {
  return h(
    'section',
    { 'aria-labelledby': 'nacks-h' },
    h('h2', { id: 'nacks-h' }, `${heading} (${list.length})`),
    list.length === 0 ? empty('No proxy has rejected its configuration.') : h('ul', { class: 'nacks' }, list.map(nackItem)),
  );
}

export function proxiesView(data) {
  const s = data.syncz.summary;
  const proxies = proxiesProblemsFirst(data.syncz.proxies);
  const rows = proxies.map((p) => [
    h('a', { href: links.proxy(p.proxyId) }, p.proxyId),
    p.proxyClass,
    p.protocol,
    stateBadge(p.state),
    h(
      'ul',
      { class: 'inline' },
      p.types.map((t) => h('li', null, `${t.type} `, stateBadge(t.state))),
    ),
  ]);
  return [
    h('h1', null, 'Proxies'),
    h('p', { class: 'summary' }, `${s.proxies} proxies: ${s.errors} error, ${s.stale} stale, ${s.notSent} not sent, ${s.synced} synced`),
    nackSection(nacks(data.syncz.proxies)),
    h(
      'section',
      { 'aria-labelledby': 'proxies-h' },
      h('h2', { id: 'proxies-h' }, 'Connected proxies'),
      rows.length === 0 ? empty('No proxy is connected.') : table('Problems first, then by id', ['Proxy', 'Class', 'Protocol', 'State', 'Per type'], rows),
    ),
  ];
}

function typeRows(proxy) {
  return proxy.types.map((t) => [
    t.type,
    stateBadge(t.state),
    h('code', null, short(t.versionSent)),
    h('code', null, short(t.versionAcked)),
    t.wildcard ? `wildcard${t.subscribedCount > 0 ? ` + ${t.subscribedCount}` : ''}` : String(t.subscribedCount),
  ]);
}

function resourceSections(proxyId, resources) {
  if (!resources) return empty('Loading the resources…');
  return resources.types.map((t) =>
    h(
      'section',
      { 'aria-labelledby': `res-${t.type}` },
      h('h3', { id: `res-${t.type}` }, `${t.type}: ${t.resources.length} acked, version ${short(t.versionAcked)}`),
      t.resources.length === 0
        ? empty('None acked.')
        : table(
            `${t.type} resources with the objects they come from`,
            ['Name', 'Version', 'Sources'],
            t.resources.map((r) => [
              h('a', { href: links.resource(proxyId, t.type, r.name) }, r.name),
              h('code', null, short(r.version)),
              sourceList(r.sources),
            ]),
          ),
    ),
  );
}

export function proxyView(data, proxyId) {
  const streams = data.syncz.proxies.filter((p) => p.proxyId === proxyId);
  if (streams.length === 0) return [h('h1', null, `Proxy ${proxyId}`), empty('This proxy is not connected.')];
  const latest = streams[streams.length - 1];
  const node = latest.node;
  return [
    h('h1', null, `Proxy ${proxyId}`),
    dl([
      ['State', stateBadge(latest.state)],
      ['Class', latest.proxyClass],
      ['Protocol', latest.protocol],
      ['Peer', latest.peer],
      ['Cluster', node.cluster],
      ['Locality', node.locality ? [node.locality.region, node.locality.zone, node.locality.sub_zone].filter(Boolean).join('/') : undefined],
      ['Authenticated', latest.authenticated ? `${latest.authenticated.identity} (${latest.authenticated.via})` : 'no (plaintext port)'],
      ['Connected', time(latest.connectedAt)],
      ['Streams', String(streams.length)],
    ]),
    nackSection(nacks(streams), 'NACKs of this proxy'),
    h(
      'section',
      { 'aria-labelledby': 'types-h' },
      h('h2', { id: 'types-h' }, 'Per type'),
      table('Sync state per type', ['Type', 'State', 'Sent', 'Acked', 'Subscribed'], typeRows(latest)),
    ),
    h('section', { 'aria-labelledby': 'config-h' }, h('h2', { id: 'config-h' }, 'Configuration'), resourceSections(proxyId, data.resources)),
  ];
}

export function resourceView(data, route) {
  const title = h('h1', null, `${route.type} ${route.name}`);
  const back = h('p', null, 'Of proxy ', h('a', { href: links.proxy(route.proxyId) }, route.proxyId));
  if (!data.resources) return [title, back, empty('Loading…')];
  const resource = data.resources.types.find((t) => t.type === route.type)?.resources.find((r) => r.name === route.name);
  if (!resource) return [title, back, empty('This proxy holds no such resource (acked).')];
  return [
    title,
    back,
    dl([
      ['Version', h('code', null, resource.version)],
      ['Sources', sourceList(resource.sources)],
    ]),
    h('h2', null, 'As the proxy has it'),
    h('pre', { class: 'json', tabindex: '0', 'aria-label': 'the resource as JSON' }, JSON.stringify(resource.resource, null, 2)),
  ];
}
