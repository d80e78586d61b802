/**
 * `trellis capture` for real: run twice inside a network namespace this test creates (root, `ip` and
 * `iptables-restore` required: a missing tool fails the run, `.ci/run` installs them), the nat table
 * holds each of Trellis's jumps and rules exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAINS } from '../../src/capture/ruleset.ts';
import { command, createNetns, deleteNetns, trellisInNetns } from './netns.ts';

const NS = `trellis-capture-${process.pid}`;

function natRules(save: string): string[] {
  return save.split('\n').filter((l) => l.startsWith('-A '));
}

describe('trellis capture in a network namespace', () => {
  let created = false;
  beforeAll(async () => {
    created = await createNetns(NS);
  });
  afterAll(async () => {
    if (created) await deleteNetns(NS);
  });

  it('applied twice, leaves every jump and rule once', async () => {
    const args = ['--exclude-inbound-ports', '8080', '--exclude-outbound-ports', '5432', '--exclude-outbound-cidrs', '10.0.0.0/8,fd00::/8'];
    for (const round of [1, 2]) {
      const r = await trellisInNetns(NS, 'capture', ...args);
      expect({ round, code: r.code, stderr: r.stderr }).toEqual({ round, code: 0, stderr: '' });
    }
    const save = await command('ip', ['netns', 'exec', NS, 'iptables-save', '-t', 'nat']);
    expect(save.code).toBe(0);
    const rules = natRules(save.stdout);
    expect(rules.filter((l) => l === `-A PREROUTING -p tcp -j ${CHAINS.inbound}`)).toHaveLength(1);
    expect(rules.filter((l) => l === `-A OUTPUT -p tcp -j ${CHAINS.output}`)).toHaveLength(1);
    expect(new Set(rules).size).toBe(rules.length);
    for (const rule of [
      `-A ${CHAINS.inbound} -p tcp -m tcp --dport 8080 -j RETURN`,
      `-A ${CHAINS.inRedirect} -p tcp -j REDIRECT --to-ports 15006`,
      `-A ${CHAINS.output} -m owner --uid-owner 1337 -j RETURN`,
      `-A ${CHAINS.output} -p tcp -m tcp --dport 5432 -j RETURN`,
      `-A ${CHAINS.output} -d 10.0.0.0/8 -j RETURN`,
      `-A ${CHAINS.redirect} -p tcp -j REDIRECT --to-ports 15001`,
    ]) {
      expect(rules).toContain(rule);
    }
    const dryRun = await trellisInNetns(NS, 'capture', '--dry-run', ...args);
    expect(rules).toHaveLength(natRules(dryRun.stdout).length);
  });
});
