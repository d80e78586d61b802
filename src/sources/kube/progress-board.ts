/**
 * Where replicas tell each other how far their proxies have got. Every replica serves its own
 * proxies, and only it knows which of them acked or rejected a TrafficPolicy's configuration; the
 * status writer (the lease holder) needs them all to say "acked by 12/12 proxies". So each replica
 * publishes its progress per policy in a ConfigMap of its own in the lease namespace
 * (`trellis-progress-<identity>`), refreshed at least every heartbeat, and the writer reads the
 * others' boards, ignoring any not refreshed for `staleMs` (a replica that died).
 */
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PolicyProgress } from '../../model/policy-status.js';

/** One policy's progress on one replica, for the policy generation that replica serves. */
export interface BoardEntry extends PolicyProgress {
  readonly generation?: number;
}

export interface ReplicaBoard {
  readonly identity: string;
  /** ISO time of the last refresh. */
  readonly updated: string;
  readonly policies: Readonly<Record<string, BoardEntry>>;
}

export interface ProgressBoardOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly identity: string;
  readonly logger: Logger;
  /** Republish unchanged progress this often (default 10 s). */
  readonly heartbeatMs?: number;
  /** Ignore boards older than this (default 3 heartbeats). */
  readonly staleMs?: number;
  readonly now?: () => number;
}

const LABEL = 'trellis.dev/progress-board';
const KEY = 'progress.json';

/** A ConfigMap name for an identity: DNS-safe, and unique even when the identity is not. */
export function boardName(identity: string): string {
  const safe = identity
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 8);
  return `trellis-progress-${safe}-${hash}`;
}

export class ProgressBoard {
  private readonly api: CoreV1Api;
  private readonly name: string;
  private published = '';
  private publishedAt = 0;

  constructor(private readonly opts: ProgressBoardOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.name = boardName(opts.identity);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Writes this replica's progress if it changed or a heartbeat is due. */
  async publish(policies: Readonly<Record<string, BoardEntry>>): Promise<void> {
    const content = JSON.stringify(policies);
    const heartbeat = this.opts.heartbeatMs ?? 10_000;
    if (content === this.published && this.now() - this.publishedAt < heartbeat) return;
    const board: ReplicaBoard = { identity: this.opts.identity, updated: new Date(this.now()).toISOString(), policies };
    const body: V1ConfigMap = {
      metadata: { name: this.name, namespace: this.opts.namespace, labels: { [LABEL]: 'true' } },
      data: { [KEY]: JSON.stringify(board) },
    };
    try {
      await this.api.replaceNamespacedConfigMap({ name: this.name, namespace: this.opts.namespace, body });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 404) throw err;
      await this.api.createNamespacedConfigMap({ namespace: this.opts.namespace, body });
    }
    this.published = content;
    this.publishedAt = this.now();
  }

  /** The other replicas' fresh boards. */
  async others(): Promise<ReplicaBoard[]> {
    const list = await this.api.listNamespacedConfigMap({ namespace: this.opts.namespace, labelSelector: `${LABEL}=true` });
    const staleMs = this.opts.staleMs ?? 3 * (this.opts.heartbeatMs ?? 10_000);
    const out: ReplicaBoard[] = [];
    for (const cm of list.items) {
      if (cm.metadata?.name === this.name) continue;
      const board = parseBoard(cm.data?.[KEY]);
      if (!board) {
        this.opts.logger.warn({ configMap: cm.metadata?.name }, 'unreadable progress board; ignored');
        continue;
      }
      if (this.now() - Date.parse(board.updated) <= staleMs) out.push(board);
    }
    return out;
  }

  /** Removes this replica's board (on a clean stop), so that it stops counting at once. */
  async remove(): Promise<void> {
    try {
      await this.api.deleteNamespacedConfigMap({ name: this.name, namespace: this.opts.namespace });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 404) this.opts.logger.warn({ err: (err as Error).message }, 'could not remove the progress board');
    }
  }
}

function parseBoard(text: string | undefined): ReplicaBoard | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<ReplicaBoard>;
    return typeof v.identity === 'string' && typeof v.updated === 'string' && typeof v.policies === 'object' && v.policies !== null
      ? (v as ReplicaBoard)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adds the other replicas' progress to this one's, policy by policy, counting a replica only where
 * it serves the same generation of the policy as this one.
 */
export function combineProgress(
  own: ReadonlyMap<string, BoardEntry>,
  others: readonly ReplicaBoard[],
  generations: ReadonlyMap<string, number | undefined>,
): Map<string, PolicyProgress> {
  const out = new Map<string, { proxies: number; acked: number; rejected: { proxyId: string; message: string }[] }>();
  const add = (policy: string, e: BoardEntry): void => {
    const t = out.get(policy) ?? { proxies: 0, acked: 0, rejected: [] };
    t.proxies += e.proxies;
    t.acked += e.acked;
    t.rejected.push(...e.rejected);
    out.set(policy, t);
  };
  for (const [policy, e] of own) add(policy, e);
  for (const board of others) {
    for (const [policy, e] of Object.entries(board.policies)) if (generations.get(policy) === e.generation) add(policy, e);
  }
  for (const t of out.values()) t.rejected.sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : 0));
  return out;
}
