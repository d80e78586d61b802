/**
 * What the demo reads from Trellis's debug endpoint, the way an operator would: /debug/policies for a
 * TrafficPolicy's conditions, /debug/syncz for each proxy's sync state and NACKs. Every wait polls
 * until a condition holds, with a deadline, and says what it last saw when the deadline passes.
 */
const POLL_MS = 50;
const DEADLINE_MS = 20_000;

export interface PolicyView {
  readonly namespace: string;
  readonly name: string;
  readonly generation?: number;
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason: string; readonly message: string }[];
  readonly progress?: { readonly proxies: number; readonly acked: number; readonly rejected: number };
}
export interface ProxyView {
  readonly proxyId: string;
  readonly state: string;
  readonly types: readonly { readonly type: string; readonly state: string; readonly lastError?: { readonly message: string } }[];
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export const policies = (debug: string) => getJson<{ policies: PolicyView[] }>(`${debug}/debug/policies?format=json`).then((r) => r.policies);
export const proxies = (debug: string) => getJson<{ proxies: ProxyView[] }>(`${debug}/debug/syncz?format=json`).then((r) => r.proxies);

/** Polls `read` until `holds` accepts its value; rejects at the deadline with `what` and the last value. */
export async function waitFor<T>(what: string, read: () => Promise<T>, holds: (t: T) => boolean, deadlineMs = DEADLINE_MS): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (holds(last)) return last;
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms; last seen: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function condition(p: PolicyView | undefined, type: string): PolicyView['conditions'][number] | undefined {
  return p?.conditions.find((c) => c.type === type);
}

/** The policy namespace/name at `generation`, once its status satisfies `until`. */
export function waitPolicy(
  debug: string,
  ref: { namespace: string; name: string; generation: number },
  until: (p: PolicyView) => boolean,
  what: string,
): Promise<PolicyView | undefined> {
  const find = (list: PolicyView[]) => list.find((p) => p.namespace === ref.namespace && p.name === ref.name && p.generation === ref.generation);
  return waitFor(
    `TrafficPolicy ${ref.namespace}/${ref.name} generation ${ref.generation} ${what}`,
    () => policies(debug).then(find),
    (p) => p !== undefined && until(p),
  );
}

/** Programmed=True, acked by every proxy it reaches (at least one). */
export const ackedByAll = (p: PolicyView): boolean =>
  condition(p, 'Programmed')?.status === 'True' && p.progress !== undefined && p.progress.proxies > 0 && p.progress.acked === p.progress.proxies;
