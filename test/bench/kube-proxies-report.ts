/**
 * What `npm run bench:kube -- --proxies N` prints of its proxies phase (kube-proxies.ts): the figures, one row
 * per endpoint change, the targets of issue 14 met or missed, and the same as JSON.
 */
import type { ProxiesResult } from './kube-proxies.ts';
import { pct } from './report.ts';

/** Issue 14's targets. */
export const TARGETS = { syncedMs: 10_000, rssBytes: 1024 ** 3, changeP99Ms: 300 } as const;

const MiB = 2 ** 20;
const mib = (b: number): string => (b / MiB).toFixed(0);
const mib1 = (b: number): string => (b / MiB).toFixed(1);
const kib = (b: number): string => (b / 1024).toFixed(1);
const s = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const defined = (xs: readonly number[]): number[] => xs.filter((x) => !Number.isNaN(x));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Latencies of every proxy over every change; a proxy that never got a change counts as Infinity (a miss, not a drop). */
function pooled(r: ProxiesResult): number[] {
  return r.changes.flatMap((c) => c.latencies.map((x) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)));
}

const verdict = (met: boolean): string => (met ? 'met' : 'MISS');

/** What `--reachable` made of the Pods, for the report. */
export function reachableText(reachable: number | undefined): string {
  return reachable === undefined
    ? 'no trellis.dev/reachable-services annotation (each sidecar may receive every Service)'
    : `--reachable ${reachable}: each Pod of service i annotated trellis.dev/reachable-services with services i+1 … i+${reachable} and service 0`;
}

export function proxiesReport(r: ProxiesResult): string {
  const all = pooled(r);
  const maxRss = Math.max(r.rss.ready, r.rss.synced, r.rss.afterChanges);
  const p99 = pct(all, 99);
  const lines = [
    `\nProxies: ${r.proxies} sidecar streams (each its own Pod, so its own class), against trellis serve --kubeconfig`,
    `  ${reachableText(r.reachable)}`,
    table(
      ['phase', 'time (s)', 'Trellis CPU (s)', 'Trellis RSS (MiB)', 'responses', 'MiB received', 'KiB per proxy', 'client CPU (s)'],
      [
        ['spawn → /readyz 200', s(r.readyMs), '', mib(r.rss.ready), '', '', '', ''],
        [
          `connect → all SYNCED (${r.syncedCount} / ${r.proxies})`,
          s(r.syncedMs),
          r.connectTrellisCpu.toFixed(1),
          mib(r.rss.synced),
          String(r.connectResponses),
          mib1(r.connectBytes),
          kib(r.connectBytes / r.proxies),
          r.connectClientCpu.toFixed(1),
        ],
        [`after ${r.changes.length} endpoint changes`, '', '', mib(r.rss.afterChanges), '', '', '', ''],
        ['peak (VmHWM)', '', '', mib(r.rss.peak), '', '', '', ''],
      ],
    ),
    `  per proxy, opened → SYNCED: p50 ${s(pct(defined(r.perProxySyncMs), 50))} s, p99 ${s(pct(defined(r.perProxySyncMs), 99))} s, max ${s(Math.max(...defined(r.perProxySyncMs)))} s`,
    `  streams that ended with an error and were opened again (after 500 ms, from scratch, as Envoy would): ${r.reconnects}${r.errors.length > 0 ? `; first errors:\n    ${r.errors.join('\n    ')}` : ''}`,
    `  each subscribed to CDS and LDS (wildcard), ${r.edsNames} EDS and ${r.rdsNames} RDS names (the first proxy's; ${r.edsSets} distinct EDS sets)`,
    `  /debug/syncz: ${JSON.stringify(r.syncz.summary)}${Number.isNaN(r.syncz.agreedAfterMs) ? ' (did NOT agree with the client side within 30 s)' : `, agreeing ${s(r.syncz.agreedAfterMs)} s after the client side (it caches for 1 s)`}`,
  ];
  if (r.changes.length > 0) {
    lines.push(
      `\nEndpoint changes: the EndpointSlice of ${r.cluster} patched (first endpoint's address; ${r.reachable === undefined ? 'the last Service' : 'service 0, which every Pod reaches'}); PATCH returned → each proxy ACKed the new assignment`,
      table(
        [
          'change',
          'address',
          'PATCH (ms)',
          'proxies',
          'p50 (ms)',
          'p99 (ms)',
          'max (ms)',
          'Trellis CPU (s)',
          'responses',
          'MiB sent',
          'KiB per proxy',
          'reconnects',
        ],
        r.changes.map((c) => {
          const got = defined(c.latencies);
          return [
            String(c.change),
            c.address,
            ms(c.writeMs),
            `${got.length} / ${c.subscribed}`,
            ms(pct(got, 50)),
            ms(pct(got, 99)),
            ms(Math.max(...got)),
            c.trellisCpuSeconds.toFixed(2),
            String(c.responses),
            mib1(c.bytes),
            kib(c.bytes / r.proxies),
            String(c.reconnects),
          ];
        }),
      ),
      `  over all ${r.proxies} proxies × ${r.changes.length} changes: p50 ${ms(pct(all, 50))} ms, p99 ${ms(p99)} ms, max ${ms(Math.max(...all))} ms`,
    );
  }
  lines.push(
    '\nTargets (issue 14)',
    `- all SYNCED within ${TARGETS.syncedMs / 1000} s of connecting: ${s(r.syncedMs)} s → ${verdict(r.syncedMs <= TARGETS.syncedMs)}`,
    `- Trellis RSS under 1 GiB: ${mib(maxRss)} MiB (largest reading; peak VmHWM ${mib(r.rss.peak)} MiB) → ${verdict(maxRss < TARGETS.rssBytes)}`,
    r.changes.length > 0
      ? `- endpoint change p99 under ${TARGETS.changeP99Ms} ms: ${ms(p99)} ms → ${verdict(p99 < TARGETS.changeP99Ms)}`
      : '- endpoint change p99: not measured (no changes: the streams were not all SYNCED, or --changes 0)',
  );
  return lines.join('\n');
}

export function proxiesJson(r: ProxiesResult): Record<string, unknown> {
  const all = pooled(r);
  const r1 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x) : null);
  return {
    proxies: r.proxies,
    reachable: r.reachable ?? null,
    cluster: r.cluster,
    readyS: +s(r.readyMs),
    syncedS: Number.isNaN(r.syncedMs) ? null : +s(r.syncedMs),
    syncedCount: r.syncedCount,
    syncz: r.syncz,
    rssMB: { ready: +mib(r.rss.ready), synced: +mib(r.rss.synced), afterChanges: +mib(r.rss.afterChanges), peak: +mib(r.rss.peak) },
    connect: {
      trellisCpuS: +r.connectTrellisCpu.toFixed(2),
      clientCpuS: +r.connectClientCpu.toFixed(2),
      responses: r.connectResponses,
      bytes: r.connectBytes,
      bytesPerProxy: Math.round(r.connectBytes / r.proxies),
      edsNames: r.edsNames,
      rdsNames: r.rdsNames,
      edsSets: r.edsSets,
      reconnects: r.reconnects,
    },
    change: { p50Ms: r1(pct(all, 50)), p99Ms: r1(pct(all, 99)), maxMs: r1(Math.max(...all)) },
    changes: r.changes.map((c) => ({
      change: c.change,
      complete: c.complete,
      writeMs: r1(c.writeMs),
      p50Ms: r1(pct(defined(c.latencies), 50)),
      p99Ms: r1(pct(defined(c.latencies), 99)),
      maxMs: r1(Math.max(...defined(c.latencies))),
      trellisCpuS: +c.trellisCpuSeconds.toFixed(2),
      bytes: c.bytes,
      bytesPerProxy: Math.round(c.bytes / r.proxies),
      reconnects: c.reconnects,
    })),
  };
}
