// Building the page: elements made with createElement, text set with textContent (through append),
// never innerHTML. Whatever a proxy or a manifest says — markup included — stays text.

/**
 * An element: `h('a', { href: '#/x', class: 'y' }, 'text', child)`. Attributes are set with
 * setAttribute; children are nodes, strings (text nodes) or arrays of them; null/undefined/false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** A state as text in a coloured badge (the colour is never the only sign: the word is there). */
export function badge(text, tone) {
  return h('span', { class: `badge tone-${tone}` }, text);
}

const STATE_TONE = { SYNCED: 'ok', STALE: 'warn', 'NOT SENT': 'idle', ERROR: 'error' };

export function stateBadge(state) {
  return badge(state, STATE_TONE[state] ?? 'idle');
}

/** A table with a caption, column headers and rows of cells (each cell a node, a string or a list). */
export function table(caption, headers, rows) {
  return h(
    'table',
    null,
    h('caption', null, caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((cells) =>
        h(
          'tr',
          null,
          cells.map((c) => h('td', null, c)),
        ),
      ),
    ),
  );
}

/** A list of definitions: [term, description] pairs. */
export function dl(pairs) {
  return h(
    'dl',
    null,
    pairs.filter(([, d]) => d !== undefined && d !== '').map(([t, d]) => [h('dt', null, t), h('dd', null, d)]),
  );
}

export function short(version) {
  return version ? version.slice(0, 12) : '-';
}

export function time(ms) {
  return h(
    'time',
    { datetime: new Date(ms).toISOString() },
    new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
  );
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}
