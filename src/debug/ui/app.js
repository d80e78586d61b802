// The debug UI: reads the JSON views, renders the view the hash names, and reads them again when
// /debug/events says something changed (at most once a second). No framework, no build step.
import { h } from './dom.js';
import { nacks, parseRoute, policyVerdict } from './model.js';
import { proxiesView, proxyView, resourceView } from './views.js';
import { certificatesView, policiesView, policyView, problemsView, servicesView } from './views-mesh.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const nav = document.getElementById('nav');

let data = {
  syncz: { summary: { proxies: 0, synced: 0, stale: 0, notSent: 0, errors: 0 }, proxies: [] },
  policies: { policies: [] },
  configz: { errors: 0, warnings: 0, problems: [] },
};
let loaded = false;
let loading = false;
let again = false;

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).trim()}`);
  return res.json();
}

/** What the current view needs beyond the three views every page counts from. */
function extras(route) {
  if (route.view === 'proxy' || route.view === 'resource') {
    return { resources: getJson(`/debug/resources?proxy=${encodeURIComponent(route.proxyId)}`).catch(() => undefined) };
  }
  if (route.view === 'services' || route.view === 'service') return { services: getJson('/debug/services') };
  if (route.view === 'certificates') return { certz: getJson('/debug/certz') };
  return {};
}

async function load() {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    do {
      again = false;
      const route = parseRoute(location.hash);
      const more = extras(route);
      const [syncz, policies, configz, ...rest] = await Promise.all([
        getJson('/debug/syncz'),
        getJson('/debug/policies'),
        getJson('/debug/configz'),
        ...Object.values(more),
      ]);
      data = { syncz, policies, configz, ...Object.fromEntries(Object.keys(more).map((k, i) => [k, rest[i]])) };
      loaded = true;
      render();
    } while (again);
  } catch (err) {
    setLive(`could not read the views: ${err.message}`, 'error');
  } finally {
    loading = false;
  }
}

function setLive(text, tone) {
  live.textContent = text;
  live.className = `badge tone-${tone}`;
}

function navCounts() {
  const errors = nacks(data.syncz.proxies).filter((n) => n.current).length;
  const badPolicies = data.policies.policies.filter((p) => policyVerdict(p) === 'error').length;
  return {
    proxies: `${data.syncz.summary.proxies} (${errors} NACK${errors === 1 ? '' : 's'})`,
    policies: `${data.policies.policies.length} (${badPolicies} with problems)`,
    problems: `${data.configz.errors} errors, ${data.configz.warnings} warnings`,
  };
}

function renderNav(route) {
  const counts = navCounts();
  const items = [
    ['proxies', 'Proxies', counts.proxies, ['proxies', 'proxy', 'resource']],
    ['policies', 'Policies', counts.policies, ['policies', 'policy']],
    ['problems', 'Problems', counts.problems, ['problems']],
    ['services', 'Services', '', ['services', 'service']],
    ['certificates', 'Certificates', '', ['certificates']],
  ];
  nav.replaceChildren(
    h(
      'ul',
      null,
      items.map(([view, label, count, views]) =>
        h('li', null, h('a', { href: `#/${view}`, 'aria-current': views.includes(route.view) ? 'page' : undefined }, label, count ? ` ${count}` : '')),
      ),
    ),
  );
}

function view(route) {
  switch (route.view) {
    case 'proxy':
      return proxyView(data, route.proxyId);
    case 'resource':
      return resourceView(data, route);
    case 'policies':
      return policiesView(data);
    case 'policy':
      return policyView(data, route.namespace, route.name);
    case 'problems':
      return problemsView(data);
    case 'services':
      return servicesView(data);
    case 'service':
      return servicesView(data, route);
    case 'certificates':
      return certificatesView(data);
    default:
      return proxiesView(data);
  }
}

function render() {
  if (!loaded) return;
  const route = parseRoute(location.hash);
  renderNav(route);
  main.replaceChildren(...view(route).flat());
  const title = main.querySelector('h1');
  document.title = `${title ? title.textContent : 'Trellis'} · Trellis debug`;
  document.body.dataset.view = route.view;
}

function connect() {
  const events = new EventSource('/debug/events');
  events.addEventListener('open', () => setLive('live', 'ok'));
  events.addEventListener('change', () => {
    setLive('live', 'ok');
    void load();
  });
  // EventSource reconnects by itself (after the `retry` the server sent); say so meanwhile.
  events.addEventListener('error', () => setLive('reconnecting…', 'warn'));
}

window.addEventListener('hashchange', () => {
  render();
  void load();
  main.focus();
});

connect();
void load();
