/**
 * `npm run demo` as a person runs it: a child process that starts Trellis, the applications and the
 * proxyless clients, edits policies live and prints its claims. Every claim must hold (✓), each
 * step's claims must be there, and the demo must end by itself, exit 0 and leave nothing behind;
 * with --keep it stays up, serving its debug endpoint, until Ctrl-C (SIGINT), then cleans up.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const tsx = createRequire(import.meta.url).resolve('tsx');

interface Run {
  readonly output: () => string;
  /** resolves with the output once a line matches */
  readonly until: (re: RegExp) => Promise<string>;
  readonly exit: Promise<number | null>;
  readonly pid: number;
}

function runDemo(args: readonly string[]): Run {
  const child = spawn(process.execPath, ['--import', tsx, 'examples/demo/demo.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const output = () => `${out}${err ? `\nstderr:\n${err}` : ''}`;
  return {
    output,
    exit,
    pid: child.pid ?? 0,
    until: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            waiters.delete(check);
            resolve(out);
          }
        };
        waiters.add(check);
        void exit.then(() => (re.test(out) ? resolve(out) : reject(new Error(`demo exited before ${String(re)}:\n${output()}`))));
        check();
      }),
  };
}

/** Each step's claims, in order. */
const EXPECTED = [
  /^2 proxyless clients connected, every one SYNCED/,
  /^canary 90\/10: while the change landed: 150 calls, 150 OK/,
  /^canary 90\/10: 600 calls, 600 OK/,
  /^canary 90\/10: v2's share: \d+ of 600/,
  /^canary 50\/50: while the change landed/,
  /^canary 50\/50: 600 calls, 600 OK/,
  /^canary 50\/50: v2's share/,
  /^canary 0\/100: while the change landed/,
  /^canary 0\/100: 600 calls, 600 OK \(OK 600\), 0 to v1, 600 to v2/,
  /^canary 0\/100: v2's share: 600 of 600 \(100%\) — exactly 100%/,
  /^payments fails each call's first attempt, no retry policy: 100 calls, 100 UNAVAILABLE/,
  /^retries \(attempts: 2 on unavailable\): 200 calls, 200 OK on their second attempt/,
  /^answered by payments-5c8d-x1; none by the terminating payments-5c8d-y2/,
  /^fault delay 300 ms at 30%: calls that took ≥ 300 ms: \d+ of 400/,
  /^fault abort ABORTED at 20%: calls aborted: \d+ of 400/,
  /^fault injection: no other failure/,
  /^\/debug\/syncz: storefront-legacy\.shop CDS ERROR: .*RING_HASH/,
  /^\/debug\/policies: TrafficPolicy shop\/catalog-sticky Programmed=False \(Rejected\): rejected by 1\/2 proxies: storefront-legacy\.shop: /,
  /^storefront-0\.shop with ring hash: 200 calls, 200 OK; each of 20 users on one pod \(0 spread/,
  /^storefront-legacy\.shop, calling on through its NACK, on its last good configuration: 150 calls, 150 OK/,
];

function claims(output: string): { ok: boolean; text: string }[] {
  return output
    .split('\n')
    .filter((l) => /^ {2}[✓✗] /.test(l))
    .map((l) => ({ ok: l.startsWith('  ✓'), text: l.slice(4) }));
}

describe('npm run demo', () => {
  it('runs every step, every claim holds, and it ends by itself within a minute with exit 0', async () => {
    const started = Date.now();
    const run = runDemo([]);
    const code = await run.exit;
    const elapsed = Date.now() - started;
    const out = run.output();
    expect(code, out).toBe(0);
    const found = claims(out);
    expect(
      found.filter((c) => !c.ok),
      out,
    ).toEqual([]);
    expect(found.length, out).toBe(EXPECTED.length);
    EXPECTED.forEach((re, i) => expect(found[i]?.text, out).toMatch(re));
    expect(out).toContain('▸ mutual TLS: not shown');
    expect(out).toMatch(/every claim held/);
    expect(elapsed, out).toBeLessThan(60_000);
    // Its temporary directory is gone.
    const dir = /Trellis serving (\S+)\/mesh /.exec(out)?.[1];
    expect(dir, out).toBeDefined();
    expect(existsSync(dir ?? '/'), out).toBe(false);
  }, 120_000);

  it('with --keep stays up with its debug endpoint until Ctrl-C, then cleans up', async () => {
    const run = runDemo(['--keep']);
    const out = await run.until(/policies: \S+\n/);
    const debug = /(http:\/\/127\.0\.0\.1:\d+)\/debug\/ui/.exec(out)?.[1] ?? '';
    const dir = /policies: (\S+)\/mesh\n/.exec(out)?.[1] ?? '';
    // Still serving after the steps: the NACK is there to look at.
    const syncz = await (await fetch(`${debug}/debug/syncz?format=text`)).text();
    expect(syncz).toMatch(/storefront-legacy\.shop\s+proxyless\/shop\s+sotw\s+CDS\s+ERROR/);
    expect(existsSync(dir)).toBe(true);
    process.kill(run.pid, 'SIGINT');
    expect(await run.exit, run.output()).toBe(130);
    expect(existsSync(dir)).toBe(false);
    await expect(fetch(`${debug}/healthz`)).rejects.toThrow();
  }, 120_000);
});
