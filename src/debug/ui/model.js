// Pure helpers of the debug UI: ordering (problems first), the NACK list, policy verdicts and the
// deep links. No DOM here, so test/debug/ui-model.test.ts runs them in Node. Types in model.d.ts.

/** Worst first: what needs looking at comes first. */
const STATE_RANK = { ERROR: 0, STALE: 1, 'NOT SENT': 2, SYNCED: 3 };

export function stateRank(state) {
  return STATE_RANK[state] ?? 4;
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Proxies worst state first, then by id and stream. */
export function proxiesProblemsFirst(proxies) {
  return [...proxies].sort((a, b) => stateRank(a.state) - stateRank(b.state) || compareText(a.proxyId, b.proxyId) || a.streamId - b.streamId);
}

/** Every NACK of every proxy, newest first: the proxy, the type, the message and the source objects of the rejected resources. */
export function nacks(proxies) {
  const out = [];
  for (const p of proxies) {
    for (const t of p.types) {
      if (!t.lastError) continue;
      const sources = [...new Set(t.lastError.rejected.flatMap((r) => r.sources.map(formatRef)))].sort(compareText);
      out.push({ proxyId: p.proxyId, streamId: p.streamId, type: t.type, current: t.state === 'ERROR', error: t.lastError, sources });
    }
  }
  return out.sort((a, b) => Number(b.current) - Number(a.current) || b.error.at - a.error.at || compareText(a.proxyId, b.proxyId));
}

export function formatRef(ref) {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** `TrafficPolicy ns/name` → { namespace, name }; undefined for anything else. */
export function parsePolicyRef(text) {
  const m = /^TrafficPolicy ([^/\s]+)\/(\S+)$/.exec(text);
  return m ? { namespace: m[1], name: m[2] } : undefined;
}

/** A condition that says something is wrong (PartiallyInvalid and Conflicted say so when True). */
export function conditionBad(c) {
  const inverted = c.type === 'PartiallyInvalid' || c.type === 'Conflicted';
  return inverted ? c.status === 'True' : c.status === 'False';
}

/** error: accepted badly or rejected; pending: not yet acked by every proxy; ok otherwise. */
export function policyVerdict(policy) {
  const bad = policy.conditions.filter(conditionBad);
  if (bad.some((c) => !(c.type === 'Programmed' && c.reason === 'Pending'))) return 'error';
  return bad.length > 0 ? 'pending' : 'ok';
}

const VERDICT_RANK = { error: 0, pending: 1, ok: 2 };

export function policiesProblemsFirst(policies) {
  return [...policies].sort((a, b) => VERDICT_RANK[policyVerdict(a)] - VERDICT_RANK[policyVerdict(b)] || compareText(a.policy, b.policy));
}

/** "acked by 2/3" (or "rejected by 1/3") from the policy's progress; undefined when no proxy receives it. */
export function ackedBy(policy) {
  const p = policy.progress;
  if (!p || p.proxies === 0) return undefined;
  return p.rejected > 0 ? `rejected by ${p.rejected}/${p.proxies}` : `acked by ${p.acked}/${p.proxies}`;
}

/** Problems by manifest file (those of no file last, as "(no file)"), each file's errors first, in line order. */
export function problemsByFile(problems) {
  const groups = new Map();
  for (const p of problems) {
    const file = p.origin?.file ?? '';
    groups.set(file, [...(groups.get(file) ?? []), p]);
  }
  const severity = (p) => (p.severity === 'error' ? 0 : 1);
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? 1 : 0) - (b === '' ? 1 : 0) || compareText(a, b))
    .map(([file, list]) => ({
      file: file === '' ? '(no file)' : file,
      errors: list.filter((p) => p.severity === 'error').length,
      problems: [...list].sort((a, b) => severity(a) - severity(b) || (a.origin?.line ?? 0) - (b.origin?.line ?? 0)),
    }));
}

/** The views and their hashes: `#/proxy/<id>`, `#/proxy/<id>/resource/<type>/<name>`, `#/policy/<ns>/<name>`, ... */
export function parseRoute(hash) {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [view = '', ...rest] = parts;
  if (view === 'proxy' && rest.length === 1) return { view: 'proxy', proxyId: rest[0] };
  if (view === 'proxy' && rest.length === 4 && rest[1] === 'resource') return { view: 'resource', proxyId: rest[0], type: rest[2], name: rest[3] };
  if (view === 'policy' && rest.length === 2) return { view: 'policy', namespace: rest[0], name: rest[1] };
  if (view === 'service' && rest.length === 2) return { view: 'service', namespace: rest[0], name: rest[1] };
  if (['policies', 'problems', 'services', 'certificates'].includes(view) && rest.length === 0) return { view };
  return { view: 'proxies' };
}

const seg = encodeURIComponent;

export const links = {
  proxy: (id) => `#/proxy/${seg(id)}`,
  resource: (id, type, name) => `#/proxy/${seg(id)}/resource/${seg(type)}/${seg(name)}`,
  policy: (namespace, name) => `#/policy/${seg(namespace)}/${seg(name)}`,
  service: (namespace, name) => `#/service/${seg(namespace)}/${seg(name)}`,
};

/** `Service ns/name:port` → the service's link; undefined for anything else. */
export function serviceLink(attached) {
  const m = /^Service ([^/\s]+)\/([^:\s]+)(?::\d+)?$/.exec(attached);
  return m ? links.service(m[1], m[2]) : undefined;
}
