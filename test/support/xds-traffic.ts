/**
 * Traffic for the end-to-end tests of TrafficPolicy features, shared by the parent side
 * (test/support/xds-app.ts) and the child processes (test/support/xds-app-child.ts): how a test
 * server behaves per call (fail the first attempts of each call key, delay, fail always) and counts
 * the attempts of each key; how a test client describes a load (count, concurrency, deadline,
 * metadata per call) and reports it (per call: status, server, elapsed time; and a tally).
 *
 * Pure: no gRPC objects, no I/O; the children do the calls.
 */
import { status } from '@grpc/grpc-js';

/** A gRPC status by name, as the tests write it ('UNAVAILABLE'). */
export type StatusName = keyof typeof status;

/** The request metadata key a server counts attempts by (retries resend the same metadata). */
export const CALL_KEY = 'x-call-id';

/** What an xDS test server does with each call it receives. Fields combine: delay first, then fail or answer. */
export interface ServerBehaviour {
  /** Fail the first `attempts` attempts of each call key (metadata `x-call-id`) with `code`; later attempts succeed. */
  readonly failFirst?: { readonly attempts: number; readonly code: StatusName };
  /** Answer (or fail) after this many milliseconds. */
  readonly delayMs?: number;
  /** Fail every call with this status. */
  readonly failAlways?: StatusName;
}

/** What a server does with one attempt: wait `delayMs`, then fail with `code` or answer. */
export interface AttemptOutcome {
  readonly delayMs: number;
  readonly code?: number;
}

/** The outcome of the `attempt`-th attempt (1-based) of a call key under `b`. */
export function attemptOutcome(b: ServerBehaviour, attempt: number): AttemptOutcome {
  const delayMs = b.delayMs ?? 0;
  if (b.failAlways !== undefined) return { delayMs, code: status[b.failAlways] };
  if (b.failFirst !== undefined && attempt <= b.failFirst.attempts) return { delayMs, code: status[b.failFirst.code] };
  return { delayMs };
}

/** How a server names itself in the details of a status it fails a call with: `server <name>: ...`. */
export function failureDetails(server: string, attempt: number): string {
  return `server ${server}: attempt ${attempt} of this call key fails by design`;
}

/** The server named in a reply (`<server>:<name>`) or in the details of a failure it produced; undefined otherwise. */
export function serverOf(reply: { readonly message?: string; readonly details?: string }): string | undefined {
  if (reply.message !== undefined) return reply.message.split(':')[0];
  return /^server ([^:\s]+):/.exec(reply.details ?? '')?.[1];
}

// ---------------------------------------------------------------------------------------------
// client loads

export interface LoadOptions {
  /** Calls to make. */
  readonly count: number;
  /** Calls in flight at once (default 1); with count ≤ concurrency, every call starts in the same tick. */
  readonly concurrency?: number;
  /** Per-call deadline (default 5000 ms). */
  readonly deadlineMs?: number;
  readonly waitForReady?: boolean;
  /** Request metadata; in values, `{i}` is the call's index and `{i%N}` the index modulo N (e.g. 'x-call-id': 'retry-{i}'). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Request name (default 'hello'). */
  readonly name?: string;
  /** No call starts after this many milliseconds (default 60 s): a load is bounded in time as well as in count. */
  readonly timeLimitMs?: number;
}

/** One call of a load. */
export interface CallResult {
  /** The call's index, 0-based. */
  readonly i: number;
  /** The status name ('OK', 'UNAVAILABLE', ...). */
  readonly code: string;
  /** The server that answered or failed the call; undefined when no server was involved (the client failed it). */
  readonly server?: string;
  readonly elapsedMs: number;
  /** Failed calls: the status details. */
  readonly details?: string;
}

export interface LoadReport {
  /** Every call made, by index. */
  readonly calls: readonly CallResult[];
  /** Successful calls by the server that answered. */
  readonly okByServer: Readonly<Record<string, number>>;
  /** Calls by status name. */
  readonly byCode: Readonly<Record<string, number>>;
  /** Wall time of the whole load. */
  readonly elapsedMs: number;
}

/** The metadata of call `i`: `{i}` and `{i%N}` replaced in every value. */
export function callMetadata(metadata: Readonly<Record<string, string>> | undefined, i: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    out[k] = v.replace(/\{i(?:%(\d+))?\}/g, (_m, mod: string | undefined) => String(mod === undefined ? i : i % Number(mod)));
  }
  return out;
}

/** The status name of a numeric code ('UNKNOWN' for one gRPC does not define). */
export function statusName(code: number): string {
  const name = status[code];
  return typeof name === 'string' ? name : 'UNKNOWN';
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

/** The report of a load from its calls (sorted by index). */
export function loadReport(calls: readonly CallResult[], elapsedMs: number): LoadReport {
  const sorted = [...calls].sort((a, b) => a.i - b.i);
  const okByServer: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  for (const c of sorted) {
    count(byCode, c.code);
    if (c.code === 'OK') count(okByServer, c.server ?? '?');
  }
  return { calls: sorted, okByServer, byCode, elapsedMs };
}
