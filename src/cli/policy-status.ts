/**
 * `trellis policy-status [NAMESPACE/NAME]`: each TrafficPolicy's conditions as this Trellis replica
 * sees them (Programmed counts its own proxies), from the debug endpoint's `/debug/policies`. Exit 1
 * when any policy shown is not Programmed=True, or NAMESPACE/NAME does not exist.
 */
import { z } from 'zod';
import type { OutputFormat } from '../config/debug-client.js';
import { oneLine } from '../debug/text.js';
import { closest } from '../suggest.js';
import { httpGet, parseReply, type Endpoint } from './debug-http.js';
import { documentText, NONE, table } from './print.js';
import type { CommandIO } from './offline.js';

const condition = z.object({ type: z.string(), status: z.string(), reason: z.string(), message: z.string() });

const policiesSchema = z.object({
  policies: z.array(
    z
      .object({
        policy: z.string(),
        namespace: z.string(),
        name: z.string(),
        attachedTo: z.array(z.string()),
        conditions: z.array(condition),
      })
      .passthrough(),
  ),
});

type Policy = z.output<typeof policiesSchema>['policies'][number];
type Condition = z.output<typeof condition>;

function isProgrammed(p: Policy): boolean {
  return p.conditions.some((c) => c.type === 'Programmed' && c.status === 'True');
}

/** `True`, or `False (Reason)`; `-` when the policy has no such condition. */
function cell(c: Condition | undefined): string {
  if (!c) return NONE;
  return c.status === 'True' ? 'True' : `${c.status} (${c.reason})`;
}

/** The message worth reading first: the first condition that is not as it should be, else Programmed's. */
function headline(p: Policy): string {
  const wrong = p.conditions.find((c) => (c.type === 'Conflicted' || c.type === 'PartiallyInvalid' ? c.status === 'True' : c.status !== 'True'));
  const shown = wrong ?? p.conditions.find((c) => c.type === 'Programmed');
  return shown ? oneLine(`${wrong ? `${shown.type}: ` : ''}${shown.message}`) : '';
}

function policiesTable(list: readonly Policy[]): string {
  const byType = (p: Policy, type: string) => p.conditions.find((c) => c.type === type);
  const rows = list.map((p) => [p.namespace, p.name, cell(byType(p, 'Accepted')), cell(byType(p, 'Programmed')), headline(p)]);
  return table(['NAMESPACE', 'NAME', 'ACCEPTED', 'PROGRAMMED', 'MESSAGE'], rows);
}

/** One policy: what it attaches to, then a line per condition. */
function policyDetail(p: Policy): string {
  const rows = p.conditions.map((c) => [c.type, c.status, c.reason, oneLine(c.message)]);
  return `${p.policy}\nattached to: ${p.attachedTo.length > 0 ? p.attachedTo.join(', ') : '(nothing)'}\n\n${table(['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], rows)}`;
}

export interface PolicyStatusOptions {
  readonly debug: Endpoint;
  readonly policy?: { readonly namespace: string; readonly name: string };
  readonly output: OutputFormat;
}

/** 0 when every policy shown is Programmed=True; 1 when one is not, or the one asked for does not exist. */
export async function runPolicyStatus(options: PolicyStatusOptions, io: CommandIO): Promise<number> {
  const path = '/debug/policies';
  const all = parseReply(options.debug, path, await httpGet(options.debug, path), policiesSchema).policies;
  const wanted = options.policy;
  const list = wanted ? all.filter((p) => p.namespace === wanted.namespace && p.name === wanted.name) : all;
  if (wanted && list.length === 0) {
    const ref = `${wanted.namespace}/${wanted.name}`;
    const near = closest(
      ref,
      all.map((p) => `${p.namespace}/${p.name}`),
      3,
    );
    io.err(`no TrafficPolicy ${ref} in Trellis at ${options.debug.label}${near.length > 0 ? `; closest: ${near.join(', ')}` : ''}\n`);
    return 1;
  }
  if (options.output !== 'table') io.out(documentText({ policies: list }, options.output));
  else if (list.length === 0) io.out('no TrafficPolicies\n');
  else if (wanted && list[0]) io.out(policyDetail(list[0]));
  else io.out(policiesTable(list));
  return list.every(isProgrammed) ? 0 : 1;
}
