/**
 * What the demo measures and how it judges it. Pure: the calls come in as data (client.ts makes
 * them), the claims go out as data (demo.ts prints them).
 *
 * A measured share is judged by the binomial bound: n calls of probability p land within 5
 * standard deviations (σ = √(n·p·(1−p))) of n·p; a correct mesh fails that about once in 1.7
 * million runs, so a ✗ means something is wrong, not bad luck.
 */

/** A batch of calls one client makes (client.ts). */
export interface LoadCommand {
  readonly target: string;
  readonly count: number;
  readonly concurrency: number;
  /** at most this many calls start per second */
  readonly rate: number;
  readonly deadlineMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** One call: its status and, when it succeeded, who answered on which attempt. */
export interface CallOutcome {
  readonly i: number;
  /** a gRPC status name: OK, UNAVAILABLE, … */
  readonly code: string;
  readonly details?: string;
  readonly pod?: string;
  readonly version?: string;
  readonly attempt?: number;
  readonly ms: number;
}

/** One line of the demo's output that it checks. */
export interface Claim {
  readonly ok: boolean;
  readonly text: string;
}

const K_SIGMA = 5;

export function count<T>(items: readonly T[], pred: (t: T) => boolean): number {
  return items.reduce((n, t) => (pred(t) ? n + 1 : n), 0);
}

export function pct(n: number, of: number): string {
  return `${of === 0 ? 0 : Math.round((1000 * n) / of) / 10}%`;
}

/** `hits` of `n` is a share of `p` (0..1) within 5σ; p = 0 or 1 must be exact. */
export function shareClaim(label: string, hits: number, n: number, p: number): Claim {
  const sd = Math.sqrt(n * p * (1 - p));
  const low = n * p - K_SIGMA * sd;
  const high = n * p + K_SIGMA * sd;
  const ok = n > 0 && hits >= low && hits <= high;
  const bound = sd === 0 ? 'exactly' : `within ±${Math.round((1000 * K_SIGMA * sd) / n) / 10} points (5σ) of`;
  return { ok, text: `${label}: ${hits} of ${n} (${pct(hits, n)}) — ${bound} ${Math.round(p * 1000) / 10}%` };
}

/** The calls by status name, as `OK 200, UNAVAILABLE 3`. */
export function byCode(calls: readonly CallOutcome[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.code, (counts.get(c.code) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
}

/** Canary: of `calls`, the share answered by `version` is `weight`% (the rest by the other version, and every call OK). */
export function canaryClaims(calls: readonly CallOutcome[], weights: { readonly v1: number; readonly v2: number }): Claim[] {
  const n = calls.length;
  const ok = count(calls, (c) => c.code === 'OK');
  const v1 = count(calls, (c) => c.code === 'OK' && c.version === 'v1');
  const v2 = count(calls, (c) => c.code === 'OK' && c.version === 'v2');
  const total = weights.v1 + weights.v2;
  return [
    { ok: ok === n && n > 0, text: `canary ${weights.v1}/${weights.v2}: ${n} calls, ${ok} OK (${byCode(calls)}), ${v1} to v1, ${v2} to v2` },
    shareClaim(`canary ${weights.v1}/${weights.v2}: v2's share`, v2, n, weights.v2 / total),
  ];
}

/** Without retries, every call whose first attempt fails fails; with them, every call is saved on attempt 2. */
export function retryClaims(before: readonly CallOutcome[], after: readonly CallOutcome[]): Claim[] {
  const failed = count(before, (c) => c.code === 'UNAVAILABLE');
  const saved = count(after, (c) => c.code === 'OK' && c.attempt === 2);
  return [
    {
      ok: before.length > 0 && failed === before.length,
      text: `payments fails each call's first attempt, no retry policy: ${before.length} calls, ${failed} UNAVAILABLE (${byCode(before)})`,
    },
    {
      ok: after.length > 0 && saved === after.length,
      text: `retries (attempts: 2 on unavailable): ${after.length} calls, ${saved} OK on their second attempt — retries saved ${pct(saved, after.length)} (${byCode(after)})`,
    },
  ];
}

/** Fault injection: the delayed share (calls that took at least `delayMs`) and the aborted share. */
export function faultClaims(calls: readonly CallOutcome[], delay: { ms: number; percent: number }, abort: { code: string; percent: number }): Claim[] {
  const n = calls.length;
  const delayed = count(calls, (c) => c.ms >= delay.ms);
  const aborted = count(calls, (c) => c.code === abort.code);
  const other = count(calls, (c) => c.code !== 'OK' && c.code !== abort.code);
  return [
    shareClaim(`fault delay ${delay.ms} ms at ${delay.percent}%: calls that took ≥ ${delay.ms} ms`, delayed, n, delay.percent / 100),
    shareClaim(`fault abort ${abort.code} at ${abort.percent}%: calls aborted`, aborted, n, abort.percent / 100),
    { ok: other === 0, text: `fault injection: no other failure (${byCode(calls)})` },
  ];
}

/** Ring hash: every key's calls land on one pod, and every call is OK. */
export function stickyClaim(label: string, calls: readonly CallOutcome[], keyOf: (c: CallOutcome) => string): Claim {
  const pods = new Map<string, Set<string>>();
  for (const c of calls) if (c.code === 'OK') pods.set(keyOf(c), (pods.get(keyOf(c)) ?? new Set()).add(c.pod ?? '?'));
  const spread = [...pods.values()].filter((s) => s.size > 1).length;
  const used = new Set([...pods.values()].flatMap((s) => [...s]));
  const ok = count(calls, (c) => c.code === 'OK');
  return {
    ok: calls.length > 0 && ok === calls.length && spread === 0,
    text: `${label}: ${calls.length} calls, ${ok} OK; each of ${pods.size} users on one pod (${spread} spread; ${used.size} pods used)`,
  };
}
