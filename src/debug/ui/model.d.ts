// Types of model.js (plain JavaScript, served as it is to the browser), for the tests that import it.
import type { Diagnostic, ObjectRef } from '../../diagnostics.ts';
import type { PolicyCondition, PolicyStatusView } from '../../model/policy-status.ts';
import type { SynczProxy } from '../syncz.ts';
import type { NackRecord, SyncState } from '../../xds/status.ts';

export interface NackView {
  readonly proxyId: string;
  readonly streamId: number;
  readonly type: string;
  /** The type is in ERROR now (not an older NACK since followed by an ACK). */
  readonly current: boolean;
  readonly error: NackRecord;
  readonly sources: readonly string[];
}

export type Route =
  | { readonly view: 'proxies' | 'policies' | 'problems' | 'services' | 'certificates' }
  | { readonly view: 'proxy'; readonly proxyId: string }
  | { readonly view: 'resource'; readonly proxyId: string; readonly type: string; readonly name: string }
  | { readonly view: 'policy' | 'service'; readonly namespace: string; readonly name: string };

export function stateRank(state: SyncState): number;
export function proxiesProblemsFirst<P extends Pick<SynczProxy, 'state' | 'proxyId' | 'streamId'>>(proxies: readonly P[]): P[];
export function nacks(proxies: readonly SynczProxy[]): NackView[];
export function formatRef(ref: ObjectRef): string;
export function parsePolicyRef(text: string): { namespace: string; name: string } | undefined;
export function conditionBad(c: PolicyCondition): boolean;
export function policyVerdict(policy: Pick<PolicyStatusView, 'conditions'>): 'error' | 'pending' | 'ok';
export function policiesProblemsFirst<P extends Pick<PolicyStatusView, 'conditions' | 'policy'>>(policies: readonly P[]): P[];
export function ackedBy(policy: Pick<PolicyStatusView, 'progress'>): string | undefined;
export function problemsByFile(problems: readonly Diagnostic[]): { file: string; errors: number; problems: Diagnostic[] }[];
export function parseRoute(hash: string): Route;
export const links: {
  proxy(id: string): string;
  resource(id: string, type: string, name: string): string;
  policy(namespace: string, name: string): string;
  service(namespace: string, name: string): string;
};
export function serviceLink(attached: string): string | undefined;
