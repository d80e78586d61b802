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

/** One line: newlines and runs of blanks folded, so a multi-line NACK message keeps the table intact. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Rows as columns padded to their widest cell; the last column is not padded. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
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
  }
  return `${lines.join('\n')}\n`;
}

/** The `/debug` index as text: one endpoint a line, descriptions aligned. */
export function formatIndexText(endpoints: readonly { path: string; description: string }[]): string {
  const rows = alignColumns(endpoints.map((e) => [e.path, e.description]));
  return `Trellis debug endpoints\n\n${rows.join('\n')}\n`;
}
