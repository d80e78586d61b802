/**
 * Each capture rule proved by TCP connections: a "pod" namespace with the ruleset applied (by
 * `trellis capture`) and a "peer" namespace joined by a veth pair. Listeners answer with their
 * namespace and the port that accepted, so a redirected connection answers `pod:15001` or `pod:15006`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_UID, SIDECAR_PORTS } from '../../src/envoy/contract.ts';
import { createNetns, deleteNetns, mustRun, trellisInNetns } from './netns.ts';
import { answerOf, listen, type Listeners } from './tcp.ts';

const POD = `trellis-pod-${process.pid}`;
const PEER = `trellis-peer-${process.pid}`;
const POD_IP = '10.77.0.1';
const PEER_IP = '10.77.0.2';
/** A second address of the peer, excluded by CIDR. */
const EXCLUDED_PEER_IP = '10.77.0.3';
const APP_PORT = 9000;
const EXCLUDED_INBOUND = 8080;
const SERVICE_PORT = 80;
const EXCLUDED_OUTBOUND = 5432;

async function connectNamespaces(): Promise<void> {
  await mustRun('ip', ['link', 'add', 've-pod', 'netns', POD, 'type', 'veth', 'peer', 'name', 've-peer', 'netns', PEER]);
  await mustRun('ip', ['-n', POD, 'addr', 'add', `${POD_IP}/24`, 'dev', 've-pod']);
  await mustRun('ip', ['-n', PEER, 'addr', 'add', `${PEER_IP}/24`, 'dev', 've-peer']);
  await mustRun('ip', ['-n', PEER, 'addr', 'add', `${EXCLUDED_PEER_IP}/24`, 'dev', 've-peer']);
  await mustRun('ip', ['-n', POD, 'link', 'set', 've-pod', 'up']);
  await mustRun('ip', ['-n', PEER, 'link', 'set', 've-peer', 'up']);
}

describe('trellis capture, proved by TCP connections', () => {
  const created: string[] = [];
  const listeners: Listeners[] = [];
  beforeAll(async () => {
    for (const ns of [POD, PEER]) if (await createNetns(ns)) created.push(ns);
    await connectNamespaces();
    const args = ['--exclude-inbound-ports', String(EXCLUDED_INBOUND), '--exclude-outbound-ports', String(EXCLUDED_OUTBOUND)];
    for (let round = 0; round < 2; round++) {
      const r = await trellisInNetns(POD, 'capture', ...args, '--exclude-outbound-cidrs', `${EXCLUDED_PEER_IP}/32`);
      if (r.code !== 0) throw new Error(`trellis capture: exit ${r.code}: ${r.stderr}`);
    }
    const podPorts = [SIDECAR_PORTS.outbound, SIDECAR_PORTS.inbound, SIDECAR_PORTS.health, APP_PORT, EXCLUDED_INBOUND];
    listeners.push(await listen(POD, 'pod', podPorts));
    listeners.push(await listen(PEER, 'peer', [SERVICE_PORT, EXCLUDED_OUTBOUND]));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    for (const ns of created) await deleteNetns(ns);
  });

  it.each([
    ['outbound TCP is redirected to 15001', PEER_IP, SERVICE_PORT, undefined, `pod:${SIDECAR_PORTS.outbound}`],
    ["Envoy's own traffic (its UID) is not", PEER_IP, SERVICE_PORT, PROXY_UID, `peer:${SERVICE_PORT}`],
    ['an excluded outbound port is not', PEER_IP, EXCLUDED_OUTBOUND, undefined, `peer:${EXCLUDED_OUTBOUND}`],
    ['an excluded outbound CIDR is not', EXCLUDED_PEER_IP, SERVICE_PORT, undefined, `peer:${SERVICE_PORT}`],
    ['a loopback destination is not', '127.0.0.1', APP_PORT, undefined, `pod:${APP_PORT}`],
  ])('from the pod: %s', async (_, host, port, uid, answer) => {
    expect(await answerOf(POD, host, port, uid)).toBe(answer);
  });

  it.each([
    ['inbound TCP is redirected to 15006', APP_PORT, `pod:${SIDECAR_PORTS.inbound}`],
    ['an excluded inbound port is not', EXCLUDED_INBOUND, `pod:${EXCLUDED_INBOUND}`],
    ["Envoy's health port is not", SIDECAR_PORTS.health, `pod:${SIDECAR_PORTS.health}`],
  ])('into the pod: %s', async (_, port, answer) => {
    expect(await answerOf(PEER, POD_IP, port)).toBe(answer);
  });
});
