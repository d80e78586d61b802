/**
 * The ADS server: accepts streams, routes cache changes to the streams of the changed proxy class,
 * and answers the debug endpoint's questions. Protocol rules live in the streams; content lives in
 * the cache.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { decodeAny } from '../envoy/codec.js';
import type { NodeInfo } from '../envoy/node.js';
import { PUSH_ORDER, type ResourceKind } from '../envoy/types.js';
import type { SnapshotCache, SnapshotChange } from './cache.js';
import type { Authenticate, Authorize } from './peer.js';
import { PeerStreams } from './peers.js';
import { DeltaStream } from './delta.js';
import { releaseReceivedMessages } from './grpc-memory.js';
import { NameSets } from './name-sets.js';
import { ResponseBodies } from './response-bodies.js';
import { SotwStream } from './sotw.js';
import { sourceProgress } from './progress.js';
import { clientResourcesOf } from './client-status.js';
import type {
  ClientResources,
  HeldResources,
  ProxiesQuery,
  ProxyStatus,
  SourceProgress,
  SyncState,
  SyncSummary,
  XdsClientStatus,
  XdsIntrospection,
  XdsObserver,
} from './status.js';
import { NO_OBSERVER, SUBSCRIBED_LISTED } from './status.js';
import { loggedId, StreamError, type AdsStream, type StreamContext } from './stream.js';
import { adsServiceDefinition, isMalformed, type DeltaRequest, type Malformed, type NoncedResponse, type SotwRequest } from './wire.js';

/** A repeated warning (same reason) is logged at most once in this long; the rest are only counted. */
const WARN_INTERVAL_MS = 10_000;

export interface AdsServerOptions {
  readonly cache: SnapshotCache;
  /** Which proxy class (which snapshot) a node receives. */
  readonly classify: (node: NodeInfo) => string | undefined;
  readonly logger: Logger;
  readonly observer?: XdsObserver;
  /** Largest request accepted, in bytes (default 4 MiB). */
  readonly maxRequestBytes?: number;
  /**
   * Called when a proxy of a class the cache has no snapshot for identifies itself, so that the
   * snapshot can be built on demand; its requests wait until it is set.
   */
  readonly onDemand?: (proxyClass: string) => void;
  /**
   * How long a proxy class with no connected proxy is kept (default 30 s): a proxy that reconnects
   * within it pays no rebuild. Then the class is dropped and `onRelease` told.
   */
  readonly classGraceMs?: number;
  /** A proxy class has had no connected proxy for the grace period: drop what is held for it. */
  readonly onRelease?: (proxyClass: string) => void;
  /** Most bytes of encoded response bodies kept for the streams that will be sent the same (default 64 MiB). */
  readonly responseBodyBytes?: number;
  /** Most resource names one stream may subscribe to per type (default 100 000). */
  readonly maxNamesPerType?: number;
  /** Most resource names one stream may subscribe to, all types together (default 200 000). */
  readonly maxNamesPerStream?: number;
  /** Most resource names all streams together may subscribe to (default 10 000 000). */
  readonly maxNamesServer?: number;
  /** Longest node.id accepted (default 1024 characters); a longer one is INVALID_ARGUMENT. */
  readonly maxNodeIdLength?: number;
  /** Largest node.metadata accepted, as JSON (default 16 KiB); a larger one is INVALID_ARGUMENT. */
  readonly maxNodeMetadataBytes?: number;
  /** The secure port: proves who opened a stream before its first request is read. Required by listenSecure. */
  readonly authenticate?: Authenticate;
  /** The secure port: whether the authenticated peer may be served the node it names. */
  readonly authorize?: Authorize;
  /**
   * Secrets by workload identity (the cache's "classes" are identities): a stream of the secure port
   * receives its peer's, a stream of the plaintext port none.
   */
  readonly secrets?: SnapshotCache;
  /** An identity gained its first authenticated stream (`connected`), or lost its last one. */
  readonly onPeer?: (identity: string, connected: boolean) => void;
}

/** The gRPC server options of both xDS ports (the benchmarks' floors use the same). */
export function adsServerOptions(maxRequestBytes = 4 * 1024 * 1024): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': maxRequestBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  };
}

export class AdsServer implements XdsIntrospection, XdsClientStatus {
  private readonly streams = new Set<AdsStream>();
  private readonly nameSets = new NameSets();
  private readonly byClass = new Map<string, Set<AdsStream>>();
  /** Classes with no connected proxy, waiting out the grace period. */
  private readonly releasing = new Map<string, NodeJS.Timeout>();
  private readonly ctx: StreamContext;
  private nextId = 0;
  private readonly bodies: ResponseBodies;
  /** Names subscribed to by every stream together. */
  private readonly subscribed = { total: 0 };
  /** Per warning reason: when it was last logged, and how many were not logged since. */
  private readonly warned = new Map<string, { at: number; suppressed: number }>();
  private readonly grpcServers: grpc.Server[] = [];
  /** Services served beside ADS on the plaintext port (client status), registered before listening. */
  private readonly plaintextServices: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][] = [];
  /** Authenticated streams by peer identity, for Secret changes. */
  private readonly peers: PeerStreams;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly opts: AdsServerOptions) {
    this.peers = new PeerStreams(opts.secrets, opts.onPeer);
    this.bodies = new ResponseBodies(opts.responseBodyBytes ?? 64 * 1024 * 1024);
    const observer = opts.observer ?? NO_OBSERVER;
    this.ctx = {
      logger: opts.logger,
      observer,
      snapshotFor: (s) => this.peers.snapshotFor(s, opts.cache.ready ? opts.cache.get(s.proxyClass) : undefined),
      ...(opts.authorize ? { authorize: opts.authorize } : {}),
      classify: opts.classify,
      identified: (s) => {
        this.keep(s.proxyClass);
        this.classOf(s.proxyClass).add(s);
        if (!opts.cache.get(s.proxyClass)) opts.onDemand?.(s.proxyClass);
      },
      ...(opts.secrets ? { answered: (s: AdsStream, kind: ResourceKind) => kind === 'secret' && this.peers.answered(s) } : {}),
      closed: (s) => this.remove(s),
      now: () => performance.now(),
      shared: (key, version, encode) => this.bodies.get(key, version, encode),
      limits: {
        maxNamesPerType: opts.maxNamesPerType ?? 100_000,
        maxNamesPerStream: opts.maxNamesPerStream ?? 200_000,
        maxNamesServer: opts.maxNamesServer ?? 10_000_000,
        maxNodeIdLength: opts.maxNodeIdLength ?? 1024,
        maxNodeMetadataBytes: opts.maxNodeMetadataBytes ?? 16 * 1024,
      },
      nameSets: this.nameSets,
      subscribed: this.subscribed,
      warnLimited: (reason, log, fields, message) => {
        const now = performance.now();
        const last = this.warned.get(reason);
        if (last && now - last.at < WARN_INTERVAL_MS) {
          last.suppressed++;
          return;
        }
        log.warn({ ...fields, ...(last?.suppressed ? { suppressed: last.suppressed } : {}) }, message);
        this.warned.set(reason, { at: now, suppressed: 0 });
      },
    };
    this.unsubscribe.push(
      opts.cache.onChange((c) => this.onChange(c)),
      opts.cache.onRelease((version) => this.bodies.forget(version)),
      opts.cache.onReady(() => {
        for (const s of this.streams) s.flush();
      }),
    );
    if (opts.secrets) {
      this.unsubscribe.push(
        opts.secrets.onChange((c) => this.onSecretChange(c)),
        opts.secrets.onRelease((version) => this.bodies.forget(version)),
      );
    }
  }

  /**
   * Resolves once every authenticated stream has answered (ACK or NACK) the Secrets it was sent, or
   * after `timeoutMs`, with the number of streams still silent then.
   */
  secretsDelivered(timeoutMs: number): Promise<number> {
    return this.peers.delivered(timeoutMs);
  }

  private onSecretChange(change: SnapshotChange): void {
    const streams = this.opts.cache.ready ? this.peers.streamsOf(change) : undefined;
    if (!streams) return;
    for (const s of streams) s.onChange(change);
  }

  private classOf(cls: string): Set<AdsStream> {
    let set = this.byClass.get(cls);
    if (!set) {
      set = new Set();
      this.byClass.set(cls, set);
    }
    return set;
  }

  private remove(s: AdsStream): void {
    if (!this.streams.delete(s)) return;
    this.peers.remove(s);
    const set = this.byClass.get(s.proxyClass);
    if (set?.delete(s) && set.size === 0) this.scheduleRelease(s.proxyClass);
    this.ctx.observer.streamClosed(s.protocol);
  }

  /** A proxy of the class connected: it is no longer on its way out. */
  private keep(cls: string): void {
    const timer = this.releasing.get(cls);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.releasing.delete(cls);
  }

  private scheduleRelease(cls: string): void {
    const timer = setTimeout(() => {
      this.releasing.delete(cls);
      if ((this.byClass.get(cls)?.size ?? 0) > 0) return;
      this.byClass.delete(cls);
      this.opts.logger.debug({ class: cls }, 'proxy class released');
      this.opts.onRelease?.(cls);
    }, this.opts.classGraceMs ?? 30_000);
    timer.unref();
    this.releasing.set(cls, timer);
  }

  /** Proxy classes the server holds: those in use and those waiting out the grace period. */
  get classesHeld(): number {
    return this.byClass.size;
  }

  private onChange(change: SnapshotChange): void {
    if (!this.opts.cache.ready) return;
    const streams = this.byClass.get(change.proxyClass);
    if (!streams) return;
    for (const s of streams) s.onChange(change);
  }

  /** Response bodies encoded so far (each one shared by every stream sent the same content). */
  get bodiesEncoded(): number {
    return this.bodies.encodes;
  }

  /** Response bodies kept now (those of versions some class still holds, within the bound). */
  get bodiesHeld(): number {
    return this.bodies.size;
  }

  private accept<R>(stream: AdsStream & { handle(req: R): void }, call: grpc.ServerDuplexStream<R | Malformed, NoncedResponse>, secure: boolean): void {
    this.streams.add(stream);
    this.ctx.observer.streamOpened(stream.protocol);
    if (secure) {
      this.acceptSecure(stream, call);
      return;
    }
    this.serve(stream, call);
  }

  /** Reads nothing until the peer is proven; then serves, or ends the stream UNAUTHENTICATED. */
  private acceptSecure<R>(stream: AdsStream & { handle(req: R): void }, call: grpc.ServerDuplexStream<R | Malformed, NoncedResponse>): void {
    const authenticate = this.opts.authenticate;
    call.pause();
    call.on('cancelled', () => stream.gone());
    call.on('error', () => stream.gone());
    if (!authenticate) {
      stream.end(new StreamError(grpc.status.INTERNAL, 'the secure port has no authenticator', 'internal'));
      return;
    }
    authenticate(call as grpc.ServerDuplexStream<unknown, unknown>).then(
      (peer) => {
        if (!this.streams.has(stream)) return;
        stream.peer = peer;
        this.peers.add(stream);
        this.serve(stream, call);
        call.resume();
      },
      (err: unknown) => {
        const error =
          err instanceof StreamError ? err : new StreamError(grpc.status.UNAUTHENTICATED, `cannot authenticate: ${(err as Error).message}`, 'unauthenticated');
        stream.end(error);
      },
    );
  }

  private serve<R>(stream: AdsStream & { handle(req: R): void }, call: grpc.ServerDuplexStream<R | Malformed, NoncedResponse>): void {
    call.on('data', (req: R | Malformed) => {
      try {
        if (isMalformed(req)) throw new StreamError(grpc.status.INVALID_ARGUMENT, `malformed request: ${req.malformed}`, 'malformed');
        stream.handle(req);
      } catch (err) {
        if (err instanceof StreamError) stream.end(err);
        else {
          this.opts.logger.error({ err, proxy: loggedId(stream.proxyId) }, 'unexpected error handling an xDS request');
          stream.end(new StreamError(grpc.status.INTERNAL, `internal error: ${(err as Error).message}`, 'internal'));
        }
      }
    });
    call.on('end', () => stream.end());
    call.on('error', () => stream.gone());
    call.on('cancelled', () => stream.gone());
    call.on('close', () => stream.gone());
  }

  /** The grpc-js handlers for the ADS service; `secure` streams are authenticated first. */
  implementation(secure = false): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<SotwRequest | Malformed, NoncedResponse>) =>
        this.accept(new SotwStream(++this.nextId, call, this.ctx), call, secure),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaRequest | Malformed, NoncedResponse>) =>
        this.accept(new DeltaStream(++this.nextId, call, this.ctx), call, secure),
    };
  }

  /** Serves another gRPC service on the plaintext port, beside ADS (never on the secure one); call before `listen`. */
  servePlaintext(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.plaintextServices.push([definition, implementation]);
  }

  /** Starts serving plaintext on host:port (port 0 picks a free one); resolves with the bound port. Its streams receive no Secrets. */
  listen(host: string, port: number): Promise<number> {
    return this.bind(host, port, grpc.ServerCredentials.createInsecure(), false);
  }

  /** Starts serving over TLS on host:port: each stream is authenticated (see `authenticate`) and receives its peer's Secrets. */
  listenSecure(host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
    if (!this.opts.authenticate) throw new Error('listenSecure needs an authenticator');
    return this.bind(host, port, credentials, true);
  }

  private async bind(host: string, port: number, credentials: grpc.ServerCredentials, secure: boolean): Promise<number> {
    const server = new grpc.Server({
      ...adsServerOptions(this.opts.maxRequestBytes),
      interceptors: [releaseReceivedMessages(adsServiceDefinition.StreamAggregatedResources?.path ?? '')],
    });
    server.addService(adsServiceDefinition, this.implementation(secure));
    if (!secure) for (const [definition, implementation] of this.plaintextServices) server.addService(definition, implementation);
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.grpcServers.push(server);
    return bound;
  }

  /** Stops accepting, ends every stream, and waits for the server to shut down (force after 2 s). */
  async close(): Promise<void> {
    for (const u of this.unsubscribe) u();
    for (const timer of this.releasing.values()) clearTimeout(timer);
    this.releasing.clear();
    const servers = this.grpcServers.splice(0);
    const down = servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    for (const s of this.streams) s.end();
    await Promise.all(down);
  }

  /** The proxy classes that have at least one connected proxy. */
  classesInUse(): string[] {
    return [...this.byClass.entries()]
      .filter(([, set]) => set.size > 0)
      .map(([cls]) => cls)
      .sort();
  }

  /** Names subscribed to by every stream together. */
  get subscribedNames(): number {
    return this.subscribed.total;
  }

  /** Number of connected streams. */
  get connected(): number {
    return this.streams.size;
  }

  proxies(query: ProxiesQuery = {}): ProxyStatus[] {
    const out: ProxyStatus[] = [];
    const listed = query.namesListed ?? SUBSCRIBED_LISTED;
    for (const s of this.streams) {
      if (query.proxyId !== undefined && s.proxyId !== query.proxyId) continue;
      const st = s.status(listed);
      if (st) out.push(st);
    }
    return out.sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : a.streamId - b.streamId));
  }

  /** How many connected proxies are in each state (as /debug/syncz counts them), and the longest a STALE one has waited. */
  syncSummary(): SyncSummary {
    const proxies: Record<SyncState, number> = { SYNCED: 0, 'NOT SENT': 0, STALE: 0, ERROR: 0 };
    const now = this.ctx.now();
    let oldest = 0;
    for (const s of this.streams) {
      const sync = s.sync();
      if (!sync) continue;
      proxies[sync.state] += 1;
      if (sync.staleSince !== undefined) oldest = Math.max(oldest, (now - sync.staleSince) / 1000);
    }
    return { proxies, oldestStaleSeconds: oldest };
  }

  clientResources(select: (node: NodeInfo) => boolean): ClientResources[] {
    const out: ClientResources[] = [];
    for (const s of this.streams) {
      const status = s.node && select(s.node) ? clientResourcesOf(s, this.ctx.snapshotFor(s)) : undefined;
      if (status) out.push(status);
    }
    return out.sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : a.streamId - b.streamId));
  }

  sourceProgress(sourceKind: string, pending?: (proxyClass: string) => boolean): Map<string, SourceProgress> {
    return sourceProgress(this.streams, (cls) => this.opts.cache.get(cls), sourceKind, pending);
  }

  heldResources(proxyId: string): HeldResources[] | undefined {
    const stream = [...this.streams].filter((s) => s.proxyId === proxyId).sort((a, b) => b.id - a.id)[0];
    if (!stream) return undefined;
    return PUSH_ORDER.flatMap((kind) => {
      const ts = stream.types.get(kind);
      if (!ts) return [];
      const entries = ts.ackedEntries();
      return [
        {
          kind,
          versionAcked: ts.versionAcked,
          resources: entries.map((e) => ({ name: e.name, version: e.version, resource: decodeAny(e.any), sources: e.sources })),
          ...(ts.lastError ? { lastError: ts.lastError } : {}),
        },
      ];
    });
  }
}
