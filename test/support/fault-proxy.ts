/**
 * A fault-injecting HTTP proxy between a Kubernetes client and the test API server (envtest.ts):
 * plain HTTP on 127.0.0.1 towards the client (use it as the kubeconfig server with a bearer token,
 * e.g. envtest.serviceAccountKubeconfig({ ..., server: proxy.url })), HTTPS towards the API server.
 * Requests and responses are streamed both ways; watch responses (GET with watch=true|1) are
 * forwarded event by event (whole lines), so a fault never cuts an event in half.
 *
 * Also `openWatch`: a minimal watch client for tests, its events as promises.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, Watch } from '@kubernetes/client-node';

export interface RequestInfo {
  method: string;
  path: string;
  query: URLSearchParams;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /**
   * Ends every open watch stream now and returns how many. 'reset' (default): the connection is
   * destroyed, as a load balancer dropping it (the client sees an error); 'end': the chunked response
   * ends cleanly, as when the API server's watch timeout expires (the client sees a normal end).
   */
  dropWatches(mode?: 'reset' | 'end'): number;
  /** The next n requests matching `match` (default: any) get this status with a metav1.Status JSON body (and Retry-After when given). */
  failNext(n: number, status: 500 | 429 | 503, opts?: { match?: (req: RequestInfo) => boolean; retryAfterSeconds?: number }): void;
  /** Drops every fault failNext left pending. */
  clearFaults(): void;
  /** Counts the requests matching `match` from now on: how many, and the most that were open at once. */
  track(match: (req: RequestInfo) => boolean): InFlight;
  /** Delay every request by ms (before it is forwarded or failed) until cleared with setDelay(0). */
  setDelay(ms: number): void;
  /** Stop listening and destroy every open connection: new connections get ECONNREFUSED until allow(). */
  refuse(): void;
  /** Listen again, on the same port (synchronously bound: the next request connects). */
  allow(): void;
  /** On every open watch, emit an ERROR event with a 410 Gone Status (reason Expired) and end the stream. Returns how many. */
  expireWatches(): number;
  /** requests: every request received; watches: watch streams opened (upstream answered 200); lists: non-watch GETs of collections forwarded. */
  stats(): { requests: number; watches: number; lists: number };
  /** Resolves when the next watch stream (optionally: whose path with query includes the string) is open through the proxy: the API server has answered 200 and the headers are on their way to the client. */
  nextWatch(pathIncludes?: string): Promise<void>;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'];
const REASONS: Record<number, string> = { 410: 'Expired', 429: 'TooManyRequests', 500: 'InternalError', 502: 'InternalError', 503: 'ServiceUnavailable' };

function endToEnd(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...h };
  for (const k of HOP_BY_HOP) delete out[k];
  return out;
}

/** Requests of one kind seen by the proxy (see FaultProxy.track). */
export interface InFlight {
  /** Requests received. */
  readonly total: number;
  /** Open now: received and not yet answered in full. */
  readonly open: number;
  /** The most open at once. */
  readonly peak: number;
}

export function statusObject(code: number, message: string, retryAfterSeconds?: number): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    ...(retryAfterSeconds !== undefined ? { details: { retryAfterSeconds } } : {}),
    code,
  };
}

function sendStatus(res: ServerResponse, code: number, message: string, retryAfterSeconds?: number): void {
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  res.writeHead(code, headers).end(JSON.stringify(statusObject(code, message, retryAfterSeconds)));
}

/** GET /api/v1/<r>, /api/v1/namespaces/<ns>/<r>, /apis/<g>/<v>/<r>, /apis/<g>/<v>/namespaces/<ns>/<r>. */
function isCollection(pathname: string): boolean {
  const seg = pathname.split('/').filter(Boolean);
  const rest = seg[0] === 'api' ? seg.slice(2) : seg[0] === 'apis' ? seg.slice(3) : [];
  return rest.length === 1 || (rest.length === 3 && rest[0] === 'namespaces');
}

interface OpenWatchStream {
  stop(how: 'reset' | 'end' | 'expire'): void;
}

interface Fault {
  left: number;
  status: 500 | 429 | 503;
  match: (req: RequestInfo) => boolean;
  retryAfterSeconds: number | undefined;
}

const EXPIRED_EVENT = `${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'too old resource version') })}\n`;

export async function startFaultProxy(upstream: { url: string; caPem: string }): Promise<FaultProxy> {
  const target = new URL(upstream.url);
  const agent = new Agent({ keepAlive: true, ca: upstream.caPem });
  const counts = { requests: 0, watches: 0, lists: 0 };
  const sockets = new Set<Socket>();
  const watches = new Set<OpenWatchStream>();
  const waiters: { includes: string; resolve: () => void }[] = [];
  let faults: Fault[] = [];
  let delayMs = 0;
  const trackers: { match: (req: RequestInfo) => boolean; counts: { total: number; open: number; peak: number } }[] = [];

  const watchOpened = (url: string) => {
    counts.watches++;
    for (const w of waiters.filter((x) => url.includes(x.includes))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse, isWatch: boolean) => {
    const up = httpsRequest({
      protocol: 'https:',
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...endToEnd(req.headers), host: target.host },
      agent,
    });
    req.pipe(up);
    req.on('error', () => up.destroy());
    res.on('error', () => up.destroy());
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.on('error', (e) => {
      if (!res.headersSent) sendStatus(res, 503, `fault proxy: upstream unavailable: ${e.message}`);
      else res.destroy();
    });
    up.once('response', (ur) => {
      res.writeHead(ur.statusCode ?? 502, endToEnd(ur.headers));
      const json = String(ur.headers['content-type'] ?? '').includes('json');
      if (!isWatch || ur.statusCode !== 200 || !json) {
        ur.pipe(res);
        ur.once('aborted', () => res.destroy());
        ur.on('error', () => res.destroy());
        return;
      }
      // A watch: forward whole lines as they come; hold a partial line until it is complete.
      res.flushHeaders();
      let pending = '';
      let stopped = false;
      const stream: OpenWatchStream = {
        stop(how) {
          if (stopped) return;
          stopped = true;
          watches.delete(stream);
          ur.removeAllListeners('data');
          if (how === 'reset') res.destroy();
          else res.end(how === 'expire' ? EXPIRED_EVENT : undefined);
          up.destroy();
        },
      };
      watches.add(stream);
      res.once('close', () => watches.delete(stream));
      ur.setEncoding('utf8');
      ur.on('data', (chunk: string) => {
        const all = pending + chunk;
        const cut = all.lastIndexOf('\n') + 1;
        pending = all.slice(cut);
        if (cut > 0) res.write(all.slice(0, cut));
      });
      ur.once('end', () => !stopped && (watches.delete(stream), res.end(pending)));
      const broken = () => !stopped && (watches.delete(stream), res.destroy());
      ur.once('aborted', broken);
      ur.on('error', broken);
      watchOpened(req.url ?? '');
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const info: RequestInfo = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
    const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    for (const t of trackers.filter((x) => x.match(info))) {
      t.counts.total++;
      t.counts.open++;
      t.counts.peak = Math.max(t.counts.peak, t.counts.open);
      res.once('close', () => t.counts.open--);
    }
    if (delayMs > 0) await sleep(delayMs);
    if (res.destroyed) return;
    const fault = faults.find((f) => f.left > 0 && f.match(info));
    if (fault) {
      fault.left--;
      faults = faults.filter((f) => f.left > 0);
      req.resume();
      sendStatus(res, fault.status, `fault proxy: injected ${fault.status}`, fault.retryAfterSeconds);
      return;
    }
    if (info.method === 'GET' && !watch && isCollection(url.pathname)) counts.lists++;
    forward(req, res, info.method === 'GET' && watch);
  };

  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stopAll = (how: 'reset' | 'end' | 'expire') => {
    const open = [...watches];
    for (const w of open) w.stop(how);
    return open.length;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    dropWatches: (mode = 'reset') => stopAll(mode),
    expireWatches: () => stopAll('expire'),
    failNext(n, status, opts) {
      faults.push({ left: n, status, match: opts?.match ?? (() => true), retryAfterSeconds: opts?.retryAfterSeconds });
    },
    clearFaults() {
      faults = [];
    },
    track(match) {
      const counts = { total: 0, open: 0, peak: 0 };
      trackers.push({ match, counts });
      return counts;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    refuse() {
      if (server.listening) server.close();
      for (const s of sockets) s.destroy();
    },
    allow() {
      // An IP literal binds synchronously (no lookup): connections are accepted when this returns.
      if (!server.listening) server.listen(port, '127.0.0.1');
    },
    stats: () => ({ ...counts }),
    nextWatch: (pathIncludes = '') => new Promise<void>((resolve) => waiters.push({ includes: pathIncludes, resolve })),
    async close() {
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      agent.destroy();
    },
  };
}

// ------------------------------------------------------------------------------------------

export interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string } };
}

export interface TestWatch {
  /** The next event not yet taken (events are queued). */
  next(): Promise<WatchEvent>;
  /** Resolves when the stream ends: null for a clean end, the error otherwise (also when it could not open). */
  readonly ended: Promise<unknown>;
  abort(): void;
}

/** Opens a watch with client-node's Watch (resolves once the response headers arrived). */
export async function openWatch(kubeconfig: string, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<TestWatch> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const queue: WatchEvent[] = [];
  const takers: ((e: WatchEvent) => void)[] = [];
  let settle: (err: unknown) => void = () => undefined;
  const ended = new Promise<unknown>((r) => (settle = r));
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object: WatchEvent['object']) => {
      const e = { type, object };
      const t = takers.shift();
      if (t) t(e);
      else queue.push(e);
    },
    (err: unknown) => settle(err ?? null),
  );
  return {
    next: () => {
      const e = queue.shift();
      return e ? Promise.resolve(e) : new Promise((r) => takers.push(r));
    },
    ended,
    abort: () => controller.abort(),
  };
}
