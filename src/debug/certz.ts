/**
 * `/debug/certz`: workload certificates as Trellis holds them — the issuer and trust bundle, then per
 * identity its state, serial, expiry, next renewal and last error. Without an issuer, one line saying
 * that nothing is encrypted. Never a key.
 */
import type { CertzView } from '../certs/view.js';
import { alignColumns, oneLine } from './text.js';

export const CERTZ_COLUMNS = ['IDENTITY', 'STATE', 'SERIAL', 'NOT AFTER', 'RENEW AT', 'LAST ERROR'] as const;

/** The one line the debug index and certz open with. */
export function certzHeadline(view: CertzView): string {
  if (!view.enabled) return view.reason;
  const { issuer, trustBundle } = view;
  const roots = `${trustBundle.roots.length} root${trustBundle.roots.length === 1 ? '' : 's'}`;
  const failing = view.identities.filter((i) => i.state === 'failing' || i.state === 'expired').length;
  return (
    `workload certificates from ${issuer.kind} ${issuer.name} (${issuer.group}), trust bundle ${trustBundle.file} (${roots}): ` +
    `${view.identities.length} identit${view.identities.length === 1 ? 'y' : 'ies'}, ${failing} without a valid certificate`
  );
}

export function formatCertzText(view: CertzView): string {
  const lines = [certzHeadline(view)];
  if (view.enabled) {
    if (view.trustBundle.error) lines.push(`trust bundle: ${view.trustBundle.error} (the last good bundle serves)`);
    if (view.unpublished.length > 0) lines.push(`trust bundle not published in: ${view.unpublished.join(', ')} (retried)`);
    lines.push('');
    if (view.identities.length === 0) lines.push('(no identity has a connected proxy)');
    else {
      const rows = view.identities.map((i) => [
        i.identity,
        i.state,
        i.serial ?? '-',
        i.notAfter ?? '-',
        i.renewAt ?? '-',
        i.lastError ? oneLine(`${i.lastError.reason} (${i.lastError.request}): ${i.lastError.message}`) : '',
      ]);
      lines.push(...alignColumns([[...CERTZ_COLUMNS], ...rows]));
    }
  }
  return `${lines.join('\n')}\n`;
}
