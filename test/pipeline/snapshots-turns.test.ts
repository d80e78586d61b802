/**
 * A change built in turns (SnapshotBuilder.setModelInTurns): a batch of classes per turn of the event
 * loop, so the first classes' responses leave while the rest are built. Each turn is one setImmediate;
 * a callback queued after a turn began runs before the next turn, which is how these tests step.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { MeshModel } from '../../src/model/types.ts';
import { SnapshotBuilder, type TurnsOutcome } from '../../src/pipeline/snapshots.ts';
import { SnapshotCache, type DesiredSnapshot } from '../../src/xds/cache.ts';
import type { Diagnostic } from '../../src/diagnostics.ts';
import { endpoint, modelOf, port, service, workload } from '../translate/model-fixtures.ts';

const CLASSES = 7;

/** CLASSES services with a workload each (one sidecar class per workload), service 0's endpoint at `address`. */
function mesh(address = '10.1.0.1'): MeshModel {
  const services = Array.from({ length: CLASSES }, (_, i) =>
    service('default', `svc-${i}`, {
      clusterIP: `10.0.0.${i + 1}`,
      ports: [port('http', 80, 'http', [endpoint(i === 0 ? address : `10.1.0.${i + 1}`, 8080, 'z')], 8080)],
    }),
  );
  const workloads = services.map((s, i) =>
    workload('default', `${s.name}-0`, `10.1.0.${i + 1}`, [{ name: 'http', port: 8080, protocol: 'http' }], [`default/${s.name}`]),
  );
  return modelOf(services, workloads);
}

const classes = Array.from({ length: CLASSES }, (_, i) => `sidecar/default/svc-${i}-0`);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The classes whose snapshot differs from `before`'s. */
function renewed(cache: SnapshotCache, before: ReadonlyMap<string, unknown>): string[] {
  return classes.filter((c) => cache.get(c) !== before.get(c));
}

function started(cache = new SnapshotCache(), inUse: () => readonly string[] = () => classes) {
  const builder = new SnapshotBuilder(cache, inUse, pino({ level: 'silent' }));
  builder.setModel(mesh());
  const before = new Map(classes.map((c) => [c, cache.get(c)]));
  const outcomes: TurnsOutcome[] = [];
  return { cache, builder, before, outcomes, done: (o: TurnsOutcome) => outcomes.push(o) };
}

describe('SnapshotBuilder.setModelInTurns', () => {
  it('builds the classes a batch per turn of the event loop, in order, and says so once the last is built', async () => {
    const { cache, builder, before, outcomes, done } = started();
    builder.setModelInTurns(mesh('10.9.9.9'), 3, done);
    expect(renewed(cache, before)).toEqual([]);
    expect(classes.filter((c) => builder.pending(c))).toEqual(classes);
    await turn();
    expect(renewed(cache, before)).toEqual(classes.slice(0, 3));
    expect(classes.filter((c) => builder.pending(c))).toEqual(classes.slice(3));
    expect(builder.pending('sidecar/default/not-a-class')).toBe(false);
    await turn();
    expect(renewed(cache, before)).toEqual(classes.slice(0, 6));
    expect(outcomes).toEqual([]);
    expect(builder.building).toBe(true);
    await turn();
    expect(renewed(cache, before)).toEqual(classes);
    expect(outcomes).toEqual([{ cost: expect.objectContaining({ classes: CLASSES, encoded: 1 }) }]);
    expect(builder.building).toBe(false);
    expect(classes.filter((c) => builder.pending(c))).toEqual([]);
    expect(builder.lastBuild.classes).toBe(CLASSES);
  });

  it('stops a build under way for a newer model, without calling its done, and builds every class on the newer one', async () => {
    const { cache, builder, outcomes, done } = started();
    builder.setModelInTurns(mesh('10.9.9.8'), 3, done);
    await turn();
    const newer: TurnsOutcome[] = [];
    builder.setModelInTurns(mesh('10.9.9.9'), 3, (o) => newer.push(o));
    while (builder.building) await turn();
    expect(outcomes).toEqual([]);
    expect(newer).toHaveLength(1);
    const versions = new Set(classes.map((c) => cache.get(c)?.endpoint.entries.get('outbound|80||svc-0.default.svc.cluster.local')?.version));
    expect(versions.size).toBe(1);
    // The newer model's assignment, not the one the stopped build began with.
    const fresh = new SnapshotCache();
    new SnapshotBuilder(fresh, () => classes.slice(0, 1), pino({ level: 'silent' })).setModel(mesh('10.9.9.9'));
    expect([...versions]).toEqual([fresh.get(classes[0] as string)?.endpoint.entries.get('outbound|80||svc-0.default.svc.cluster.local')?.version]);
  });

  it('does not build again a class released while the build is under way', async () => {
    let inUse = classes;
    const { cache, builder, outcomes, done } = started(new SnapshotCache(), () => inUse);
    builder.setModelInTurns(mesh('10.9.9.9'), 3, done);
    await turn();
    const gone = classes[5] as string;
    inUse = classes.filter((c) => c !== gone);
    builder.release(gone);
    while (builder.building) await turn();
    expect(cache.get(gone)).toBeUndefined();
    expect(cache.classes()).toEqual(inUse);
    expect(outcomes).toHaveLength(1);
  });

  it('ends with the error when a class’s build throws; the classes before it serve the new model, the rest the last', async () => {
    const failing = classes[4] as string;
    class Failing extends SnapshotCache {
      fail = false;
      override set(proxyClass: string, desired: DesiredSnapshot): Diagnostic[] {
        if (this.fail && proxyClass === failing) throw new Error('no room');
        return super.set(proxyClass, desired);
      }
    }
    const cache = new Failing();
    const { builder, before, outcomes, done } = started(cache);
    cache.fail = true;
    builder.setModelInTurns(mesh('10.9.9.9'), 3, done);
    while (builder.building) await turn();
    expect(outcomes).toEqual([{ error: new Error('no room') }]);
    expect(renewed(cache, before)).toEqual(classes.slice(0, 4));
  });

  it('throws, keeping the model before, when what every sidecar shares cannot be prepared', () => {
    const { cache, builder } = started();
    const broken = { ...mesh(), services: null } as unknown as MeshModel;
    expect(() => builder.setModelInTurns(broken, 3, () => undefined)).toThrow();
    expect(builder.building).toBe(false);
    builder.demand('sidecar/default/svc-0-1');
    expect(cache.get('sidecar/default/svc-0-1')?.cluster.entries.has('outbound|80||svc-6.default.svc.cluster.local')).toBe(true);
  });
});
