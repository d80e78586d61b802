/**
 * The snapshot builder logs each translation problem once, when it appears — not once per proxy
 * class and model — and again only if it goes away and comes back.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SnapshotBuilder } from '../../src/pipeline/snapshots.ts';
import { SnapshotCache } from '../../src/xds/cache.ts';
import { modelOf, port, service } from '../translate/model-fixtures.ts';

/** Two services claiming one ClusterIP: an error on the second, in every sidecar's translation. */
const clash = (extra = 0) =>
  modelOf([
    service('default', 'a', { clusterIP: '10.0.0.1', ports: [port('tcp', 5432, 'tcp')] }),
    service('default', 'b', { clusterIP: '10.0.0.1', ports: [port('tcp', 5433 + extra, 'tcp')] }),
  ]);
const fine = () => modelOf([service('default', 'a', { clusterIP: '10.0.0.1', ports: [port('tcp', 5432, 'tcp')] })]);

describe('SnapshotBuilder logging', () => {
  it('logs a problem once however many classes and models have it', () => {
    const lines: { msg: string; object?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string }) });
    const classes = ['sidecar/default/p1', 'sidecar/default/p2', 'sidecar/shop/p3'];
    const builder = new SnapshotBuilder(new SnapshotCache(), () => classes, logger);
    const clashes = () => lines.filter((l) => l.object === 'Service default/b').length;

    builder.setModel(clash());
    expect(clashes()).toBe(1);
    builder.setModel(clash(1)); // another model, the same problem
    builder.demand('sidecar/shop/p4');
    expect(clashes()).toBe(1);
    expect(builder.report().translation.filter((e) => e.object === 'Service default/b')).toHaveLength(1);

    builder.setModel(fine());
    builder.setModel(clash());
    expect(clashes()).toBe(2);
  });
});
