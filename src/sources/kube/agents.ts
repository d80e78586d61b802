/**
 * Keep-alive connections to the API server. client-node 1.4 builds a new `https.Agent` for every API
 * call (KubeConfig.createAgent), so every call opens a TCP connection and does a full TLS handshake:
 * a few milliseconds of the event loop each, which a burst of CertificateRequests, TokenReviews and
 * deletes pays hundreds of times. `shareAgents` makes a KubeConfig hand out one keep-alive agent per
 * set of TLS options instead, as Node's global agent does (idle sockets closed after 5 s). Credentials
 * that change (a client certificate re-read from disk) give a new agent; bearer tokens are headers and
 * do not concern the agent. Proxies and plain HTTP keep client-node's own agents.
 */
import { createHash } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import https from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

/** Agents kept per KubeConfig; an older one is dropped (its idle sockets close within the idle timeout). */
const MAX_AGENTS = 8;
const IDLE_MS = 5_000;

type CreateAgent = (cluster: Cluster | null, options: https.AgentOptions) => HttpAgent;

function keyOf(cluster: Cluster, o: https.AgentOptions): string {
  const text = (v: unknown): unknown => (Buffer.isBuffer(v) ? v.toString('base64') : Array.isArray(v) ? v.map(text) : v);
  const parts = [cluster.server, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(text);
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64');
}

/** Makes `kc` share one keep-alive agent per set of TLS options between all its requests; returns it. */
export function shareAgents(kc: KubeConfig): KubeConfig {
  // createAgent is private in client-node's typings; every request of its API clients, its Watch and
  // applyToHTTPSOptions (our reflectors) gets its agent there.
  const target = kc as unknown as { createAgent: CreateAgent };
  const own = target.createAgent.bind(kc);
  const agents = new Map<string, https.Agent>();
  target.createAgent = (cluster, options) => {
    if (!cluster?.server.startsWith('https:') || cluster.proxyUrl) return own(cluster, options);
    const key = keyOf(cluster, options);
    let agent = agents.get(key);
    if (!agent) {
      agent = new https.Agent({ ...options, keepAlive: true, timeout: IDLE_MS });
      agents.set(key, agent);
      const oldest = agents.keys().next().value;
      if (agents.size > MAX_AGENTS && oldest !== undefined) agents.delete(oldest);
    }
    return agent;
  };
  return kc;
}
