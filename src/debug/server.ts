/**
 * The debug HTTP server: plain node:http, GET only. The endpoints themselves are in routes.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Diagnostic } from '../diagnostics.js';
import type { PolicyStatusView } from '../model/policy-status.js';
import type { XdsIntrospection } from '../xds/status.js';
import type { Metrics } from './metrics.js';
import { debugRoutes, text, type Reply, type Route } from './routes.js';

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
}

export interface DebugServer {
  /** Where it listens; `port` is the real one when 0 was asked for. */
  address: { host: string; port: number };
  /** Stops listening and drops open connections (keep-alive ones included). */
  close(): Promise<void>;
}

/** `/debug/` is `/debug`. */
function normalizePath(pathname: string): string {
  const trimmed = pathname.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

async function dispatch(req: IncomingMessage, routes: ReadonlyMap<string, Route>): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://debug.invalid');
  const route = routes.get(normalizePath(url.pathname));
  if (route === undefined) return text(404, `not found: ${url.pathname}; see /debug for the list of endpoints`);
  if (req.method !== 'GET') {
    return { ...text(405, `method ${req.method ?? ''} not allowed; ${route.path} answers GET`), headers: { Allow: 'GET' } };
  }
  return route.handle({ url, accept: req.headers.accept ?? '' });
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...reply.headers,
    'Content-Type': reply.contentType,
    'Content-Length': Buffer.byteLength(reply.body),
    'Cache-Control': 'no-store',
  });
  res.end(reply.body);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function handle(req: IncomingMessage, res: ServerResponse, routes: ReadonlyMap<string, Route>, logger: Logger): Promise<void> {
  const started = performance.now();
  const request = { method: req.method, url: req.url };
  let reply: Reply;
  try {
    reply = await dispatch(req, routes);
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

function closer(server: Server): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
}

export async function startDebugServer(opts: DebugServerOptions): Promise<DebugServer> {
  const logger = opts.logger;
  const routes = new Map(debugRoutes({ ...opts, problems: opts.problems ?? (() => []), policies: opts.policies ?? (() => []) }).map((r) => [r.path, r]));
  const server = createServer((req, res) => {
    handle(req, res, routes, logger).catch((err: unknown) => {
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
  logger.info({ host: bound.address, port: bound.port }, 'debug server listening');
  return { address: { host: bound.address, port: bound.port }, close: closer(server) };
}
