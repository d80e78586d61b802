/**
 * The debug HTTP server: plain node:http, GET only. The endpoints themselves are in routes.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Diagnostic } from '../diagnostics.js';
import type { PolicyStatusView } from '../model/policy-status.js';
import type { XdsIntrospection } from '../xds/status.js';
import { NO_ISSUER, type CertzView } from '../certs/view.js';
import { ChangeFeed, serveEvents } from './events.js';
import type { Metrics } from './metrics.js';
import { debugRoutes, text, type Reply, type Route } from './routes.js';
import type { ServicesResponse } from './services.js';
import type { ReachOf } from './syncz.js';
import { loadUiAssets, type UiAsset } from './ui.js';

export interface DebugServerOptions {
  host: string;
  port: number;
  introspection: XdsIntrospection;
  readiness: () => { ready: boolean; reason: string };
  metrics: Metrics;
  logger: Logger;
  /** Everything wrong with the configuration now (for /debug/configz); none when omitted. */
  problems?: () => readonly Diagnostic[];
  /** Every TrafficPolicy with its conditions (for /debug/policies); none when omitted. */
  policies?: () => readonly PolicyStatusView[];
  /** Workload certificates (for /debug/certz); off (nothing encrypted) when omitted. */
  certificates?: () => CertzView;
  /** The other servers of this process, one line each, for the index (the admission webhook, say). */
  servers?: () => readonly string[];
  /** Every Service with its endpoints by locality and policies per port (for /debug/services); none when omitted. */
  services?: () => ServicesResponse;
  /** What a sidecar class is scoped to (for /debug/syncz); every Service when omitted. */
  reach?: ReachOf;
  /** Where the UI's files are; default src/debug/ui beside the module (dist/debug/ui once built). */
  uiDir?: string;
  /** How long a heavy view (/metrics, /debug/syncz, /debug/config_dump, /debug/resources, /debug/services) is served from cache; default 1000 ms, 0 for never. */
  viewCacheMs?: number;
  /** The largest body a heavy view may have; beyond it, text is cut at a line and JSON is refused. Default 8 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_VIEW_CACHE_MS = 1_000;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** At most this many cached replies (config_dump has one per proxy asked about). */
const MAX_CACHED_VIEWS = 64;

export interface DebugServer {
  /** Where it listens; `port` is the real one when 0 was asked for. */
  address: { host: string; port: number };
  /** Something the views show may have changed: /debug/events tells its clients (coalesced, at most once a second). */
  changed(): void;
  /** Stops listening and drops open connections (keep-alive and event streams included). */
  close(): Promise<void>;
}

/** `/debug/` is `/debug`. */
function normalizePath(pathname: string): string {
  const trimmed = pathname.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.has(h) || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The host name of a Host header (no port, IPv6 without brackets); undefined when it does not parse. */
function hostName(header: string): string | undefined {
  try {
    return new URL(`http://${header}/`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
}

/**
 * Bound to loopback, only a Host naming loopback or the bound address is answered: a web page whose
 * name an attacker re-points at 127.0.0.1 (DNS rebinding) still sends its own name, and gets 403.
 * Bound elsewhere, anything reaching the port may ask anyway. A request without Host (HTTP/1.0 tools) is
 * answered: browsers always send one.
 */
export function hostAllowed(boundHost: string, header: string | undefined): boolean {
  if (!isLoopback(boundHost) || header === undefined) return true;
  const name = hostName(header);
  return name !== undefined && (isLoopback(name) || name === boundHost.toLowerCase());
}

/** Heavy views, built at most once per viewCacheMs for the same question (concurrent callers share one build). */
class ViewCache {
  private readonly entries = new Map<string, { at: number; reply: Promise<Reply> }>();
  constructor(private readonly ttlMs: number) {}

  get(key: string, build: () => Promise<Reply>): Promise<Reply> {
    if (this.ttlMs <= 0) return build();
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.reply;
    for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(k);
    while (this.entries.size >= MAX_CACHED_VIEWS) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    const reply = build();
    this.entries.set(key, { at: now, reply });
    reply.catch(() => this.entries.delete(key));
    return reply;
  }
}

/** A heavy view over maxBytes: text cut at the last whole line with a note; anything else refused with the size. */
export function capReply(reply: Reply, maxBytes: number): Reply {
  const bytes = Buffer.byteLength(reply.body);
  if (bytes <= maxBytes) return reply;
  const note = `... cut: ${bytes} bytes, over the limit of ${maxBytes}; ask for less (one proxy with ?proxy=)\n`;
  if (reply.contentType.startsWith('text/')) {
    const head = Buffer.from(reply.body)
      .subarray(0, Math.max(0, maxBytes - Buffer.byteLength(note)))
      .toString('utf8');
    const cut = head.lastIndexOf('\n');
    return { ...reply, body: `${cut < 0 ? '' : head.slice(0, cut + 1)}${note}` };
  }
  return text(507, `response too large: ${bytes} bytes, over the limit of ${maxBytes}; ask for less (?format=text, or one proxy with ?proxy=)`);
}

interface Dispatcher {
  readonly routes: ReadonlyMap<string, Route>;
  readonly cache: ViewCache;
  readonly maxBodyBytes: number;
  readonly feed: ChangeFeed;
}

async function dispatch(req: IncomingMessage, d: Dispatcher): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://debug.invalid');
  const route = d.routes.get(normalizePath(url.pathname));
  if (route === undefined) return text(404, `not found: ${url.pathname}; see /debug for the list of endpoints`);
  if (req.method !== 'GET') {
    return { ...text(405, `method ${req.method ?? ''} not allowed; ${route.path} answers GET`), headers: { Allow: 'GET' } };
  }
  const request = { url, accept: req.headers.accept ?? '' };
  if (route.heavy !== true) return route.handle(request);
  url.searchParams.sort();
  // Per epoch too: a client told of a change by /debug/events reads the changed view, not a cached one.
  const key = JSON.stringify([route.path, url.search, request.accept.includes('application/json'), d.feed.latest.epoch]);
  return d.cache.get(key, async () => capReply(await route.handle(request), d.maxBodyBytes));
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...reply.headers,
    'Content-Type': reply.contentType,
    'Content-Length': Buffer.byteLength(reply.body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(reply.body);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function handle(req: IncomingMessage, res: ServerResponse, d: Dispatcher & { boundHost: string }, logger: Logger): Promise<void> {
  const started = performance.now();
  const request = { method: req.method, url: req.url };
  let reply: Reply;
  const allowed = hostAllowed(d.boundHost, req.headers.host);
  if (allowed && req.method === 'GET' && d.routes.get(normalizePath(new URL(req.url ?? '/', 'http://debug.invalid').pathname))?.stream === true) {
    serveEvents(req, res, d.feed);
    return;
  }
  try {
    reply = allowed
      ? await dispatch(req, d)
      : text(403, 'forbidden: this endpoint listens on loopback and answers only a Host of localhost or its own address');
  } catch (err) {
    logger.error({ err, ...request }, 'debug endpoint failed');
    reply = text(500, `internal error: ${errorMessage(err)}`);
  }
  if (res.headersSent) return;
  send(res, reply);
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  logger.debug({ ...request, status: reply.status, ms }, 'debug request');
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closer(server: Server, feed: ChangeFeed): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    feed.close();
    closing ??= new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
}

async function uiFiles(dir: string | undefined, logger: Logger): Promise<UiAsset[] | Error> {
  try {
    return await loadUiAssets(dir);
  } catch (err) {
    logger.error({ err }, 'debug UI not served');
    return err instanceof Error ? err : new Error(String(err));
  }
}

export async function startDebugServer(opts: DebugServerOptions): Promise<DebugServer> {
  const logger = opts.logger;
  const ui = await uiFiles(opts.uiDir, logger);
  const routes = new Map(
    debugRoutes({
      ...opts,
      problems: opts.problems ?? (() => []),
      policies: opts.policies ?? (() => []),
      certificates: opts.certificates ?? (() => ({ enabled: false, reason: NO_ISSUER })),
      servers: opts.servers ?? (() => []),
      services: opts.services ?? (() => ({ services: [] })),
      reach: opts.reach ?? (() => undefined),
      ui,
    }).map((r) => [r.path, r]),
  );
  const feed = new ChangeFeed();
  const d = {
    feed,
    routes,
    cache: new ViewCache(opts.viewCacheMs ?? DEFAULT_VIEW_CACHE_MS),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    boundHost: opts.host,
  };
  const server = createServer((req, res) => {
    handle(req, res, d, logger).catch((err: unknown) => {
      logger.error({ err }, 'debug response failed');
      res.destroy();
    });
  });
  await listen(server, opts.host, opts.port);
  server.on('error', (err) => logger.error({ err }, 'debug server error'));
  const bound = server.address();
  if (bound === null || typeof bound === 'string') {
    server.close();
    throw new Error(`debug server: unexpected address ${String(bound)}`);
  }
  d.boundHost = bound.address;
  logger.info({ host: bound.address, port: bound.port }, 'debug server listening');
  return { address: { host: bound.address, port: bound.port }, changed: () => feed.notify(), close: closer(server, feed) };
}
