/**
 * Adding up the replicas' progress boards: only boards that serve the same generation of a policy count.
 */
import { describe, expect, it } from 'vitest';
import { boardName, combineProgress, type ReplicaBoard } from '../../src/sources/kube/progress-board.ts';

const board = (identity: string, policies: ReplicaBoard['policies']): ReplicaBoard => ({ identity, updated: '2026-11-25T00:00:00Z', policies });

describe('combineProgress', () => {
  it('adds every replica’s proxies and rejections, for the generation this replica serves', () => {
    const own = new Map([['TrafficPolicy shop/web', { generation: 2, proxies: 2, acked: 2, rejected: [] }]]);
    const others = [
      board('b', { 'TrafficPolicy shop/web': { generation: 2, proxies: 3, acked: 1, rejected: [{ proxyId: 'z.shop', message: 'bad' }] } }),
      board('c', { 'TrafficPolicy shop/web': { generation: 1, proxies: 5, acked: 5, rejected: [] } }),
      board('d', { 'TrafficPolicy shop/gone': { generation: 1, proxies: 1, acked: 1, rejected: [] } }),
    ];
    const generations = new Map([['TrafficPolicy shop/web', 2]]);
    expect(combineProgress(own, others, generations)).toEqual(
      new Map([['TrafficPolicy shop/web', { proxies: 5, acked: 3, rejected: [{ proxyId: 'z.shop', message: 'bad' }] }]]),
    );
  });
});

describe('boardName', () => {
  it('is a DNS-safe ConfigMap name, distinct for identities that differ only in what is replaced', () => {
    expect(boardName('Trellis_0')).toMatch(/^trellis-progress-trellis-0-[0-9a-f]{8}$/);
    expect(boardName('trellis.0')).not.toBe(boardName('trellis_0'));
  });
});
