/**
 * A TrafficPolicy's status, whole: Accepted and Conflicted as the model decided them, and
 * Programmed from what the proxies did with the configuration — True only when every connected
 * proxy the policy affects has acked the configuration containing it ("acked by 12/12 proxies"),
 * False with the proxy's own error message when one rejected it.
 *
 * Pure: the xDS server's progress view comes in as data. The same conditions are shown on
 * /debug/policies, printed by `trellis validate` (without Programmed: nothing is served there) and
 * written to the cluster by the status writer.
 */
import { formatRef } from '../diagnostics.js';
import type { Condition, ModelPolicy } from './types.js';

export interface PolicyCondition {
  readonly type: 'Accepted' | 'ResolvedRefs' | 'PartiallyInvalid' | 'Conflicted' | 'Programmed';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** What the xDS server knows about the proxies that received a policy's configuration. */
export interface PolicyProgress {
  readonly proxies: number;
  readonly acked: number;
  readonly rejected: readonly { readonly proxyId: string; readonly message: string }[];
}

export interface PolicyStatusView {
  /** `TrafficPolicy namespace/name` */
  readonly policy: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly attachedTo: readonly string[];
  readonly conditions: readonly PolicyCondition[];
  /** Where something serves it (not `trellis validate`): the connected proxies it reaches, how many acked, how many rejected. */
  readonly progress?: { readonly proxies: number; readonly acked: number; readonly rejected: number };
}

const plural = (n: number) => (n === 1 ? 'proxy' : 'proxies');

/**
 * The Programmed condition of a policy given its progress (none: no connected proxy receives it).
 * A policy part of which this control plane can never program (STRICT mTLS without workload
 * certificates: `unprogrammable`, model/mtls.ts) is Programmed=False with that reason, whatever
 * the proxies acked; the message says how far the rest of it got.
 */
export function programmed(policy: ModelPolicy, progress: PolicyProgress | undefined): PolicyCondition {
  if (!policy.inForce) return { type: 'Programmed', status: 'False', reason: 'Invalid', message: 'no valid version of the policy to program' };
  if (policy.attachedTo.length === 0)
    return { type: 'Programmed', status: 'False', reason: 'NotAttached', message: 'attached to no service port: nothing to program' };
  const verdict = proxiesVerdict(policy, policy.inForce.generation, progress);
  const blocked = policy.unprogrammable;
  if (!blocked) return verdict;
  return { type: 'Programmed', status: 'False', reason: blocked.reason, message: `${blocked.message}; the rest of the policy: ${verdict.message}` };
}

/** Programmed as the connected proxies decide it: acked, pending or rejected. */
function proxiesVerdict(policy: ModelPolicy, generation: number | undefined, progress: PolicyProgress | undefined): PolicyCondition {
  const lastGood = policy.conditions.some((c) => c.reason === 'Invalid') ? ` (the last good version, generation ${generation ?? '?'})` : '';
  const total = progress?.proxies ?? 0;
  if (total === 0) return { type: 'Programmed', status: 'True', reason: 'Programmed', message: `no connected proxy receives it yet${lastGood}` };
  const first = progress?.rejected[0];
  if (progress && first) {
    return {
      type: 'Programmed',
      status: 'False',
      reason: 'Rejected',
      message: `rejected by ${progress.rejected.length}/${total} ${plural(total)}${lastGood}: ${first.proxyId}: ${first.message}`,
    };
  }
  const acked = progress?.acked ?? 0;
  if (acked < total) return { type: 'Programmed', status: 'False', reason: 'Pending', message: `acked by ${acked}/${total} ${plural(total)}${lastGood}` };
  return { type: 'Programmed', status: 'True', reason: 'Programmed', message: `acked by ${acked}/${total} ${plural(total)}${lastGood}` };
}

function asCondition(c: Condition): PolicyCondition {
  return { type: c.type, status: c.status, reason: c.reason, message: c.message };
}

/**
 * Every policy's status. `progress` is the xDS server's view by policy reference; leave it out
 * where nothing is served (`trellis validate`): there is no Programmed condition then.
 */
export function policyStatuses(policies: readonly ModelPolicy[], progress?: ReadonlyMap<string, PolicyProgress>): PolicyStatusView[] {
  return policies.map((p) => ({
    policy: formatRef(p.source),
    namespace: p.namespace,
    name: p.name,
    ...(p.uid !== undefined ? { uid: p.uid } : {}),
    ...(p.generation !== undefined ? { generation: p.generation } : {}),
    attachedTo: p.attachedTo,
    conditions: [...p.conditions.map(asCondition), ...(progress ? [programmed(p, progress.get(formatRef(p.source)))] : [])],
    ...(progress ? { progress: counts(progress.get(formatRef(p.source))) } : {}),
  }));
}

function counts(p: PolicyProgress | undefined): NonNullable<PolicyStatusView['progress']> {
  return { proxies: p?.proxies ?? 0, acked: p?.acked ?? 0, rejected: p?.rejected.length ?? 0 };
}

/** One line per condition, for people: `TrafficPolicy shop/web: Programmed=True (Programmed): acked by 3/3 proxies`. */
export function formatPolicyStatus(s: PolicyStatusView): string[] {
  return s.conditions.map((c) => `${s.policy}: ${c.type}=${c.status} (${c.reason}): ${c.message}`);
}
