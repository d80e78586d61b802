/**
 * The proxies of the certificate bench's Trellis run, in the orchestrator's process: N ServiceAccounts
 * and their TokenRequest tokens (audience trellis) made beforehand, a TLS probe that the secure port
 * accepts connections, and then N ADS clients (test/support/ads-client.ts), each its own connection and
 * identity, subscribing to the Secrets `ROOTCA` and `default` as a sidecar does and ACKing each response,
 * until each holds its `default` Secret.
 */
import { connect as tlsConnect } from 'node:tls';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { adsProtos, SotwClient, type ConnectOptions } from '../support/ads-client.ts';
import type { Envtest } from '../support/envtest.ts';
import { SDS } from '../support/resources.ts';
import { serviceAccountToken, sidecarNode } from '../support/workloads.ts';

const TOKEN_SECONDS = 3600;

/** Runs `fn` on 0..n-1 with at most `limit` in flight. */
export async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) out[i] = await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return out;
}

/** ServiceAccounts sa-0..sa-(n-1) in `namespace` and a token of each for audience trellis, as a projected volume holds. */
export async function workloadTokens(env: Envtest, namespace: string, n: number, concurrency: number): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  return pool(n, concurrency, async (i) => {
    const name = `sa-${i}`;
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    return serviceAccountToken(core, namespace, name, 'trellis', TOKEN_SECONDS);
  });
}

/** Resolves once a TLS handshake with the secure port completes, verifying its certificate as a proxy does. */
export async function tlsProbe(port: number, rootPem: string, serverName: string, deadline: number): Promise<void> {
  for (;;) {
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: rootPem, servername: serverName, ALPNProtocols: ['h2'] });
      s.once('secureConnect', () => {
        s.destroy();
        resolve(undefined);
      });
      s.once('error', (e: Error) => resolve(e));
    });
    if (!err) return;
    if (Date.now() > deadline) throw new Error(`the secure xDS port does not complete a TLS handshake: ${err.message}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Loads the ADS client's protos (Envoy's API, a second or so) so that the clock does not count it. */
export function loadClientProtos(): void {
  adsProtos();
}

export interface Fleet {
  /** Epoch ms at which each proxy held its `default` Secret, by index. */
  readonly served: readonly number[];
  /** SDS responses received in all. */
  readonly responses: number;
  close(): void;
}

/** Connects proxy i as pod-i.<namespace>, service account sa-i, with tokens[i]; resolves once every one holds `default`. */
export async function connectFleet(
  address: string,
  tls: NonNullable<ConnectOptions['tls']>,
  namespace: string,
  tokens: readonly string[],
  deadline: number,
): Promise<Fleet> {
  const clients: SotwClient[] = [];
  const served = new Array<number>(tokens.length).fill(Number.NaN);
  let responses = 0;
  const close = (): void => {
    for (const c of clients) c.close();
  };
  const one = async (i: number): Promise<void> => {
    const c = await SotwClient.connect(address, {
      node: sidecarNode(`pod-${i}`, namespace, `sa-${i}`),
      tls,
      token: tokens[i] ?? '',
    });
    clients.push(c);
    c.send({ typeUrl: SDS, resourceNames: ['ROOTCA', 'default'] });
    for (;;) {
      const r = await c.next(SDS, Math.max(1, deadline - Date.now()));
      responses += 1;
      c.ack(r);
      if (r.resources.some((x) => x.name === 'default')) break;
    }
    served[i] = Date.now();
  };
  try {
    await Promise.all(tokens.map((_, i) => one(i)));
  } catch (err) {
    close();
    throw err;
  }
  return { served, responses, close };
}

/** A Secret as a client holds it (decoded, snake_case). */
export type HeldSecrets = ReadonlyMap<string, Record<string, unknown>>;

const dig = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), v);

/** The PEM a held `ROOTCA` trusts, and the chain of a held `default`. */
export const heldRoots = (s: HeldSecrets): unknown => dig(s.get('ROOTCA'), 'validation_context', 'trusted_ca', 'inline_string');
export const heldChain = (s: HeldSecrets): unknown => dig(s.get('default'), 'tls_certificate', 'certificate_chain', 'inline_string');

interface Wait {
  readonly holds: (stream: number, secrets: HeldSecrets) => boolean;
  readonly at: number[];
  remaining: number;
  readonly resolve: (at: number[]) => void;
}

/**
 * S streams of the SDS bench, stream j as proxy pod-j with identity sa-(j mod I) and its token, each
 * its own connection, subscribed to `ROOTCA` and `default` as a sidecar is. Every stream ACKs each
 * response and keeps what it holds; `until` tells when each stream first holds what it is asked.
 */
export class SdsFleet {
  private readonly held: HeldSecrets[];
  private readonly waits = new Set<Wait>();
  private readonly clients: SotwClient[] = [];
  /** Secrets responses received in all. */
  responses = 0;

  private constructor(readonly streams: number) {
    this.held = Array.from({ length: streams }, () => new Map());
  }

  /** Connects `streams` streams, at most `concurrency` connecting at once; resolves once every one holds `default`. */
  static async connect(
    address: string,
    tls: NonNullable<ConnectOptions['tls']>,
    namespace: string,
    tokens: readonly string[],
    streams: number,
    concurrency: number,
    deadline: number,
  ): Promise<SdsFleet> {
    const fleet = new SdsFleet(streams);
    try {
      const served = fleet.until((_, s) => s.has('default'));
      await pool(streams, concurrency, async (j) => {
        const sa = `sa-${j % tokens.length}`;
        const c = await SotwClient.connect(address, {
          node: sidecarNode(`pod-${j}`, namespace, sa),
          tls,
          token: tokens[j % tokens.length] ?? '',
        });
        fleet.clients.push(c);
        c.send({ typeUrl: SDS, resourceNames: ['ROOTCA', 'default'] });
        void fleet.read(j, c, deadline);
      });
      await Promise.race([
        served,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`not every stream held its default Secret before the deadline`)), Math.max(1, deadline - Date.now())).unref(),
        ),
      ]);
    } catch (err) {
      fleet.close();
      throw err;
    }
    return fleet;
  }

  /** What stream j holds now. */
  secrets(j: number): HeldSecrets {
    return this.held[j] ?? new Map();
  }

  /** Epoch ms at which each stream first held what `holds` asks (a stream that holds it already: now). */
  until(holds: Wait['holds']): Promise<number[]> {
    return new Promise((resolve) => {
      const w: Wait = { holds, at: new Array<number>(this.streams).fill(Number.NaN), remaining: this.streams, resolve };
      this.waits.add(w);
      for (let j = 0; j < this.streams; j++) this.check(w, j);
    });
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  private async read(j: number, c: SotwClient, deadline: number): Promise<void> {
    for (;;) {
      let r;
      try {
        r = await c.next(SDS, Math.max(1, deadline - Date.now()));
      } catch {
        return; // closed, or the deadline: the waits say which streams never held what they wait for
      }
      this.responses += 1;
      c.ack(r);
      this.held[j] = new Map(r.resources.map((x) => [x.name, x.body]));
      for (const w of this.waits) this.check(w, j);
    }
  }

  private check(w: Wait, j: number): void {
    if (!Number.isNaN(w.at[j]) || !w.holds(j, this.secrets(j))) return;
    w.at[j] = Date.now();
    if (--w.remaining > 0) return;
    this.waits.delete(w);
    w.resolve(w.at);
  }
}
