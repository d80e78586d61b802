/**
 * The demo's pure parts: how it judges what it measured (examples/demo/traffic.ts) — every claim can
 * fail — and the copy of the example mesh it serves (examples/demo/mesh.ts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loopbackOf, writeDemoMesh } from '../../examples/demo/mesh.ts';
import { canaryClaims, faultClaims, retryClaims, shareClaim, stickyClaim, type CallOutcome } from '../../examples/demo/traffic.ts';

const ok = (i: number, pod: string, version = 'v1', attempt = 1, ms = 1): CallOutcome => ({ i, code: 'OK', pod, version, attempt, ms });
const failed = (i: number, code: string, ms = 1): CallOutcome => ({ i, code, ms });
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('the demo judges its measurements', () => {
  it.each([
    { hits: 60, n: 600, p: 0.1, holds: true, why: 'on the expected share' },
    { hits: 40, n: 600, p: 0.1, holds: true, why: 'within 5σ (σ ≈ 7.3)' },
    { hits: 20, n: 600, p: 0.1, holds: false, why: 'more than 5σ below' },
    { hits: 300, n: 600, p: 0.1, holds: false, why: 'a 50/50 split where 90/10 was asked' },
    { hits: 600, n: 600, p: 1, holds: true, why: 'all of them when all are due' },
    { hits: 599, n: 600, p: 1, holds: false, why: 'one short of all: exact shares are exact' },
    { hits: 0, n: 0, p: 0, holds: false, why: 'no calls at all' },
  ])('a share $hits of $n at p=$p: $why', ({ hits, n, p, holds }) => {
    expect(shareClaim('share', hits, n, p).ok).toBe(holds);
  });

  it('fails a canary with a failed call, or with the wrong split', () => {
    const split = [...times(90, (i) => ok(i, 'a', 'v1')), ...times(10, (i) => ok(90 + i, 'c', 'v2'))];
    expect(canaryClaims(split, { v1: 90, v2: 10 }).every((c) => c.ok)).toBe(true);
    expect(canaryClaims([...split.slice(1), failed(0, 'UNAVAILABLE')], { v1: 90, v2: 10 })[0]?.ok).toBe(false);
    expect(canaryClaims(split, { v1: 0, v2: 100 })[1]?.ok).toBe(false);
  });

  it('says retries saved every call only when every call succeeded on its second attempt', () => {
    const before = times(10, (i) => failed(i, 'UNAVAILABLE'));
    const saved = times(10, (i) => ok(i, 'p', 'v1', 2));
    expect(retryClaims(before, saved).map((c) => c.ok)).toEqual([true, true]);
    expect(retryClaims([...before.slice(1), ok(0, 'p')], saved)[0]?.ok).toBe(false);
    expect(retryClaims(before, [...saved.slice(1), failed(0, 'UNAVAILABLE')])[1]?.ok).toBe(false);
    expect(retryClaims(before, [...saved.slice(1), ok(0, 'p', 'v1', 1)])[1]?.ok).toBe(false);
  });

  it('counts delayed and aborted calls, and refuses any other failure', () => {
    // 30% delayed (≥ 300 ms), 20% aborted, of 100.
    const calls = times(100, (i) => (i < 20 ? failed(i, 'ABORTED', i < 10 ? 320 : 2) : ok(i, 'p', 'v1', 1, i < 40 ? 310 : 3)));
    expect(faultClaims(calls, { ms: 300, percent: 30 }, { code: 'ABORTED', percent: 20 }).map((c) => c.ok)).toEqual([true, true, true]);
    expect(faultClaims(calls, { ms: 300, percent: 90 }, { code: 'ABORTED', percent: 20 })[0]?.ok).toBe(false);
    const other = [...calls.slice(1), failed(0, 'UNAVAILABLE')];
    expect(faultClaims(other, { ms: 300, percent: 30 }, { code: 'ABORTED', percent: 20 })[2]?.ok).toBe(false);
  });

  it('calls a ring hash sticky only when each key stayed on one pod', () => {
    const sticky = times(40, (i) => ok(i, i % 2 === 0 ? 'a' : 'b'));
    expect(stickyClaim('ring', sticky, (c) => `u${c.i % 4}`).ok).toBe(true);
    expect(stickyClaim('ring', sticky, (c) => `u${c.i % 3}`).ok).toBe(false);
  });
});

describe("the demo's mesh", () => {
  it('moves the gRPC services to 127.0.x.y on the example ports, and names what it cannot move', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-demo-mesh-'));
    try {
      const apps = await writeDemoMesh('examples/mesh', join(dir, 'mesh'));
      expect(apps.map((a) => `${a.namespace}/${a.pod} ${a.version} ${a.ip}:${a.port}${a.ready ? '' : ' terminating'}`)).toEqual([
        'shop/catalog-0 v1 127.0.1.21:50051',
        'shop/catalog-1 v1 127.0.2.22:50051',
        'shop/catalog-2 v2 127.0.3.23:50051',
        'shop/catalog-3 v2 127.0.4.24:50051',
        'payments/payments-5c8d-x1 v1 127.0.1.41:9090',
        'payments/payments-5c8d-y2 v1 127.0.2.42:9090 terminating',
      ]);
      const catalog = await readFile(join(dir, 'mesh/shop/catalog.yaml'), 'utf8');
      expect(catalog).not.toContain('10.244.');
      expect(catalog).toMatch(/podIP: 127\.0\.4\.24/);
      // What the demo runs nothing for stays as in the example.
      expect(await readFile(join(dir, 'mesh/payments/payments.yaml'), 'utf8')).toContain('10.244.2.51');
      expect(await readFile(join(dir, 'mesh/shop/frontend.yaml'), 'utf8')).toBe(await readFile('examples/mesh/shop/frontend.yaml', 'utf8'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an address outside 10.244.0.0/16, naming where it is', () => {
    expect(() => loopbackOf('192.168.1.5', 'shop/catalog.yaml: EndpointSlice of catalog, endpoints[0]')).toThrow(
      'shop/catalog.yaml: EndpointSlice of catalog, endpoints[0]: address 192.168.1.5 is not in 10.244.0.0/16',
    );
  });
});
