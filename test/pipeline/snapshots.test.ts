/**
 * The snapshot builder reports each translation problem once, however many proxy classes have it,
 * and no longer once it is gone (the control plane logs what appears and what is fixed).
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

describe('SnapshotBuilder report', () => {
  it('reports a problem once however many classes and models have it, and not once it is gone', () => {
    const classes = ['sidecar/default/p1', 'sidecar/default/p2', 'sidecar/shop/p3'];
    const builder = new SnapshotBuilder(new SnapshotCache(), () => classes, pino({ level: 'silent' }));
    const clashes = () => builder.report().translation.filter((e) => e.object?.kind === 'Service' && e.object.name === 'b').length;

    builder.setModel(clash());
    expect(clashes()).toBe(1);
    builder.setModel(clash(1)); // another model, the same problem
    builder.demand('sidecar/shop/p4');
    expect(clashes()).toBe(1);

    builder.setModel(fine());
    expect(builder.report().translation).toEqual([]);
  });
});
