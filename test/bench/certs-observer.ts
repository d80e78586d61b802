/**
 * A bystander's view of the certificate bench's requests: one admin watch on the namespace where the
 * requests are made (in both runs alike), noting per identity (annotation trellis.dev/identity) when the
 * API server announced its request created, approved, Ready with a certificate, and deleted. It tells
 * cert-manager's share of a run from the requester's. And the API server's count of the requests it
 * served (its /metrics), by verb, resource and code, whoever made them.
 */
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { IDENTITY_ANNOTATION } from '../../src/certs/requests.ts';
import { apiServerMetrics, samples } from '../support/apiserver-metrics.ts';
import type { Envtest } from '../support/envtest.ts';

export interface Seen {
  added?: number;
  approved?: number;
  ready?: number;
  deleted?: number;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null ? (v as Rec) : {});

export interface Observer {
  /** Epoch ms of each stage, by identity. */
  readonly seen: ReadonlyMap<string, Seen>;
  stop(): void;
}

/** Starts watching; resolves once the watch is open (from the watch cache's current state: resourceVersion 0). */
export async function observe(adminKubeconfig: string, namespace: string): Promise<Observer> {
  const kc = new KubeConfig();
  kc.loadFromString(adminKubeconfig);
  const seen = new Map<string, Seen>();
  const onEvent = (type: string, obj: unknown): void => {
    const now = Date.now();
    const o = rec(obj);
    const identity = rec(rec(o.metadata).annotations)[IDENTITY_ANNOTATION];
    if (typeof identity !== 'string') return;
    const s = seen.get(identity) ?? {};
    seen.set(identity, s);
    s.added ??= now;
    if (type === 'DELETED') s.deleted ??= now;
    const status = rec(o.status);
    const conds = (Array.isArray(status.conditions) ? (status.conditions as unknown[]) : []).map(rec);
    if (conds.some((c) => c.type === 'Approved' && c.status === 'True')) s.approved ??= now;
    const ready = conds.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && typeof status.certificate === 'string' && status.certificate !== '') s.ready ??= now;
  };
  const controller = await new Watch(kc).watch(
    `/apis/cert-manager.io/v1/namespaces/${namespace}/certificaterequests`,
    { resourceVersion: '0' },
    onEvent,
    () => undefined,
  );
  return { seen, stop: () => controller.abort() };
}

/** The API server's apiserver_request_total so far, by `VERB resource[/subresource] code`. */
export async function apiRequests(env: Envtest): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { labels, value } of samples(await apiServerMetrics(env), 'apiserver_request_total')) {
    if (!labels.resource) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''} ${labels.code}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}
