/**
 * Plain-text views for operators at a terminal: aligned columns, one line per proxy per type,
 * the summary first.
 */
import type { SynczProxy, SynczResponse, SynczSummary, SynczType } from './syncz.js';

export const VERSION_WIDTH = 12;
const NONE = '-';

export const SYNCZ_COLUMNS = ['PROXY', 'CLASS', 'PROTO', 'TYPE', 'STATUS', 'SENT', 'ACKED', 'ERROR'] as const;

/** A version cut to {@link VERSION_WIDTH} characters (content hashes are unique long before that). */
export function shortVersion(version: string): string {
  return version === '' ? NONE : version.slice(0, VERSION_WIDTH);
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators written as escapes
 * (`\n`, `\x1b`, `\u2028`), so that a value a client chose (a node id, a NACK message) cannot end a
 * row of a text view and forge another, nor drive the operator's terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** One line: newlines and runs of blanks folded, so a multi-line NACK message keeps the table intact. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Rows as columns padded to their widest cell, control characters escaped; the last column is not padded. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, escapeControl(cell).length);
    });
  }
  return rows.map((row) =>
    row
      .map(escapeControl)
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function summaryLine(s: SynczSummary): string {
  const noun = s.proxies === 1 ? 'proxy' : 'proxies';
  const errors = s.errors === 1 ? 'error' : 'errors';
  return `${s.proxies} ${noun}, ${s.synced} synced, ${s.stale} stale, ${s.notSent} not sent, ${s.errors} ${errors}`;
}

function typeRow(p: SynczProxy, t: SynczType): string[] {
  const error = t.state === 'ERROR' && t.lastError !== undefined ? oneLine(t.lastError.message) : '';
  return [p.proxyId, p.proxyClass, p.protocol, t.type, t.state, shortVersion(t.versionSent), shortVersion(t.versionAcked), error];
}

function proxyRows(p: SynczProxy): string[][] {
  if (p.types.length === 0) return [[p.proxyId, p.proxyClass, p.protocol, NONE, NONE, NONE, NONE, '']];
  return p.types.map((t) => typeRow(p, t));
}

/** The `/debug/syncz?format=text` table. */
export function formatSynczText(syncz: SynczResponse): string {
  const lines = [summaryLine(syncz.summary), ''];
  if (syncz.proxies.length === 0) {
    lines.push('(no proxies connected)');
  } else {
    lines.push(...alignColumns([[...SYNCZ_COLUMNS], ...syncz.proxies.flatMap(proxyRows)]));
    const scoped = syncz.proxies.filter((p) => p.reach !== undefined);
    if (scoped.length > 0) {
      lines.push('', 'scoped by their pods (trellis.dev/reachable-services); every other sidecar reaches every Service:');
      for (const p of scoped) lines.push(escapeControl(`  ${p.proxyId}: ${p.reach?.length === 0 ? '(no Service)' : (p.reach ?? []).join(', ')}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The `/debug` index as text: one endpoint a line, descriptions aligned. */
export function formatIndexText(endpoints: readonly { path: string; description: string }[], notes: readonly string[] = []): string {
  const rows = alignColumns(endpoints.map((e) => [e.path, e.description]));
  const head = notes.length === 0 ? '' : `${notes.map(escapeControl).join('\n')}\n\n`;
  return `${head}Trellis debug endpoints\n\n${rows.join('\n')}\n`;
}
