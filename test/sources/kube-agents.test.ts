/**
 * Keep-alive connections to the API server (src/sources/kube/agents.ts), against a real one: the
 * KubeConfig loadKubeConfig gives sends client-node's typed calls and the reflectors' raw requests
 * over one kept TLS connection, where client-node alone opens one per call.
 */
import type { Agent } from 'node:http';
import type { RequestOptions } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { getJson } from '../../src/sources/kube/http.ts';
import { shareAgents } from '../../src/sources/kube/agents.ts';
import { loadKubeConfig } from '../../src/sources/kube/index.ts';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';

let env: Envtest;
let kubeconfig: string;

beforeAll(async () => {
  env = await sharedEnvtest();
  kubeconfig = join(await mkdtemp(join(tmpdir(), 'trellis-agents-')), 'kubeconfig');
  await writeFile(kubeconfig, env.adminKubeconfig);
}, 120_000);

/** The agent a request of `kc` gets, and the sockets it hands to requests from now on. */
async function agentOf(kc: KubeConfig): Promise<{ agent: Agent; sockets: Set<Socket> }> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const agent = opts.agent as Agent;
  const sockets = new Set<Socket>();
  agent.on('free', (s: Socket) => sockets.add(s));
  return { agent, sockets };
}

describe('shareAgents (loadKubeConfig)', () => {
  it('sends typed calls and raw requests over one kept connection', async () => {
    const kc = loadKubeConfig({ kubeconfig });
    const { sockets } = await agentOf(kc);
    const core = kc.makeApiClient(CoreV1Api);
    await core.listNamespace();
    await core.readNamespace({ name: 'default' });
    await getJson(kc, '/api/v1/namespaces', {}, new AbortController().signal);
    await core.listNamespace();
    expect(sockets.size).toBe(1);
  });

  it('is what client-node does not do alone: a new connection per call', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const first = await agentOf(kc);
    const second = await agentOf(kc);
    expect(second.agent).not.toBe(first.agent);
  });

  it('keeps one agent per set of TLS credentials: a changed client certificate gets its own', async () => {
    const kc = shareAgents(new KubeConfig());
    kc.loadFromFile(kubeconfig);
    const byToken = (await agentOf(kc)).agent;
    expect((await agentOf(kc)).agent).toBe(byToken);
    const user = kc.getCurrentUser();
    if (!user) throw new Error('the test kubeconfig has no user');
    const pem = (what: string) => Buffer.from(`-----BEGIN ${what}-----\n-----END ${what}-----\n`).toString('base64');
    const withCert = (label: string) => ({ ...user, token: undefined, certData: pem(`CERTIFICATE ${label}`), keyData: pem('PRIVATE KEY') });
    const use = (u: typeof user) => kc.loadFromOptions({ clusters: kc.clusters, contexts: kc.contexts, currentContext: kc.currentContext, users: [u] });
    use(withCert('one'));
    const one = (await agentOf(kc)).agent;
    use(withCert('two'));
    const two = (await agentOf(kc)).agent;
    use(withCert('one'));
    expect(new Set([byToken, one, two]).size).toBe(3);
    expect((await agentOf(kc)).agent).toBe(one);
  });
});
