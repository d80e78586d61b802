// The views of the configuration: policies, problems, services, certificates.
import { badge, dl, empty, h, table } from './dom.js';
import { ackedBy, conditionBad, links, nacks, policiesProblemsFirst, policyVerdict, problemsByFile, serviceLink } from './model.js';
import { nackSection, sourceLink } from './views.js';

const VERDICT = { error: ['PROBLEM', 'error'], pending: ['PENDING', 'warn'], ok: ['OK', 'ok'] };

function verdictBadge(policy) {
  const [text, tone] = VERDICT[policyVerdict(policy)];
  return badge(text, tone);
}

function conditionBadge(c) {
  const pending = c.type === 'Programmed' && c.reason === 'Pending';
  return badge(`${c.type}=${c.status}`, conditionBad(c) ? (pending ? 'warn' : 'error') : 'ok');
}

function attachedList(attachedTo) {
  if (attachedTo.length === 0) return h('span', { class: 'muted' }, '(nothing)');
  return h(
    'ul',
    { class: 'inline' },
    attachedTo.map((a) => {
      const href = serviceLink(a);
      return h('li', null, href ? h('a', { href }, a) : a);
    }),
  );
}

export function policiesView(data) {
  const list = policiesProblemsFirst(data.policies.policies);
  const rows = list.map((p) => [
    h('a', { href: links.policy(p.namespace, p.name) }, p.policy),
    verdictBadge(p),
    ackedBy(p) ?? h('span', { class: 'muted' }, 'no proxy receives it'),
    h(
      'ul',
      { class: 'inline' },
      p.conditions.map((c) => h('li', null, conditionBadge(c))),
    ),
    attachedList(p.attachedTo),
  ]);
  return [
    h('h1', null, 'TrafficPolicies'),
    rows.length === 0 ? empty('No TrafficPolicy.') : table('Problems first, then by name', ['Policy', 'Verdict', 'Proxies', 'Conditions', 'Attached to'], rows),
  ];
}

export function policyView(data, namespace, name) {
  const p = data.policies.policies.find((x) => x.namespace === namespace && x.name === name);
  if (!p) return [h('h1', null, `TrafficPolicy ${namespace}/${name}`), empty('No such TrafficPolicy.')];
  const related = nacks(data.syncz.proxies).filter((n) => n.sources.includes(p.policy));
  return [
    h('h1', null, p.policy),
    dl([
      ['Verdict', verdictBadge(p)],
      ['Proxies', ackedBy(p)],
      ['Generation', p.generation === undefined ? undefined : String(p.generation)],
      ['Attached to', attachedList(p.attachedTo)],
    ]),
    table(
      'Conditions',
      ['Condition', 'Reason', 'Message'],
      p.conditions.map((c) => [conditionBadge(c), c.reason, h('span', { class: 'message' }, c.message)]),
    ),
    nackSection(related, 'NACKs traced to this policy'),
  ];
}

function where(p) {
  const o = p.origin ?? {};
  const at = o.line === undefined ? '' : `${o.line}${o.column === undefined ? '' : `:${o.column}`}`;
  return [o.document === undefined ? '' : `#${o.document + 1}`, at].filter(Boolean).join(' ') || '-';
}

function objectCell(ref) {
  if (!ref) return '-';
  const text = ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
  return sourceLink(text);
}

export function problemsView(data) {
  const c = data.configz;
  const groups = problemsByFile(c.problems);
  return [
    h('h1', null, 'Configuration problems'),
    h('p', { class: 'summary' }, `${c.errors} errors, ${c.warnings} warnings`),
    groups.length === 0
      ? empty('No problems: every object was accepted.')
      : groups.map((g, i) =>
          h(
            'section',
            { 'aria-labelledby': `file-${i}` },
            h('h2', { id: `file-${i}` }, `${g.file} (${g.problems.length})`),
            table(
              `Problems in ${g.file}, errors first`,
              ['Severity', 'Where', 'Object', 'Field', 'Message'],
              g.problems.map((p) => [
                badge(p.severity.toUpperCase(), p.severity === 'error' ? 'error' : 'warn'),
                where(p),
                objectCell(p.object),
                p.field ? h('code', null, p.field) : '-',
                h('span', { class: 'message' }, p.message),
              ]),
            ),
          ),
        ),
  ];
}

function portSection(service, port) {
  const title = `${port.name || 'port'} ${port.port}/${port.protocol}${port.mtls ? `, mTLS ${port.mtls}` : ''}`;
  return h(
    'section',
    { class: 'port' },
    h('h3', null, title),
    h('h4', null, 'Policies'),
    port.policies.length === 0
      ? empty('No TrafficPolicy on this port.')
      : h(
          'ul',
          null,
          port.policies.map((p) =>
            h('li', null, h('a', { href: links.policy(p.namespace, p.name) }, p.policy), p.fields.length > 0 ? `: ${p.fields.join(', ')}` : ''),
          ),
        ),
    h('h4', null, `Endpoints (${port.endpoints}) by locality`),
    port.localities.length === 0
      ? empty('No endpoint gets traffic.')
      : table(
          `Endpoints of ${service.service} port ${port.port}`,
          ['Locality', 'Endpoints'],
          port.localities.map((l) => [
            l.locality,
            h(
              'ul',
              { class: 'inline' },
              l.endpoints.map((e) => h('li', null, `${e.address}:${e.port}`, e.pod ? ` (${e.pod})` : '', e.ready ? '' : [' ', badge('TERMINATING', 'warn')])),
            ),
          ]),
        ),
  );
}

function serviceSection(s, headingLevel) {
  return h(
    'section',
    { class: 'service' },
    h(headingLevel, null, h('a', { href: links.service(s.namespace, s.name) }, s.service)),
    h('p', { class: 'muted' }, `${s.hostname} (${s.kind})`),
    s.ports.map((p) => portSection(s, p)),
  );
}

export function servicesView(data, only) {
  if (!data.services) return [h('h1', null, 'Services'), empty('Loading…')];
  const list = data.services.services.filter((s) => !only || (s.namespace === only.namespace && s.name === only.name));
  if (only) {
    const s = list[0];
    return s ? [h('h1', null, s.service), serviceSection(s, 'h2')] : [h('h1', null, `Service ${only.namespace}/${only.name}`), empty('No such Service.')];
  }
  return [h('h1', null, 'Services'), list.length === 0 ? empty('No Service.') : list.map((s) => serviceSection(s, 'h2'))];
}

const CERT_TONE = { ready: 'ok', issuing: 'idle', renewing: 'warn', failing: 'error', expired: 'error' };
const CERT_RANK = { expired: 0, failing: 1, renewing: 2, issuing: 3, ready: 4 };

export function certificatesView(data) {
  const c = data.certz;
  if (!c) return [h('h1', null, 'Certificates'), empty('Loading…')];
  if (!c.enabled) return [h('h1', null, 'Certificates'), empty(c.reason)];
  const ids = [...c.identities].sort((a, b) => (CERT_RANK[a.state] ?? 5) - (CERT_RANK[b.state] ?? 5) || (a.identity < b.identity ? -1 : 1));
  return [
    h('h1', null, 'Certificates'),
    dl([
      ['Issuer', `${c.issuer.kind} ${c.issuer.name} (${c.issuer.group})`],
      ['Trust bundle', c.trustBundle.file],
      ['Roots', c.trustBundle.roots.map((r) => `${r.subject} (until ${r.notAfter})`).join('; ') || '(none)'],
      ['Bundle problem', c.trustBundle.error],
      ['Not published in', c.unpublished.join(', ')],
    ]),
    ids.length === 0
      ? empty('No workload identity yet.')
      : table(
          'Workload identities, problems first',
          ['Identity', 'State', 'Serial', 'Not after', 'Renews at', 'Last error'],
          ids.map((e) => [
            e.identity,
            badge(e.state.toUpperCase(), CERT_TONE[e.state] ?? 'idle'),
            e.serial ?? '-',
            e.notAfter ?? '-',
            e.renewAt ?? '-',
            e.lastError ? h('span', { class: 'message' }, `${e.lastError.reason}: ${e.lastError.message}`) : '-',
          ]),
        ),
  ];
}
