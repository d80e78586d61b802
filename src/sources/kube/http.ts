/**
 * The two requests a reflector makes, straight over HTTP with the kubeconfig's credentials
 * (`KubeConfig.applyToHTTPSOptions`, so tokens, client certificates, exec plugins and in-cluster token
 * files all work): a page of a list, and a watch stream. Raw JSON, not client-node's typed models: a
 * reflector validates every object with its own schema anyway, and list pages of 10 000 Pods are cheaper
 * to parse once. Errors keep what the API server said: the HTTP status, the Status reason and message,
 * and Retry-After.
 */
import http from 'node:http';
import https from 'node:https';
import { finished } from 'node:stream/promises';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer from the API server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Readonly<Record<string, string | undefined>>;

export interface WatchEvent {
  readonly type: string;
  readonly object: Readonly<Record<string, unknown>>;
}

const MAX_ERROR_BODY = 64 * 1024;

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function open(kc: KubeConfig, path: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = { headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  signal.throwIfAborted();
  const request = url.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: 'GET', signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: http.IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (size < limit) chunks.push(buf);
    size += buf.length;
  }
  return Buffer.concat(chunks);
}

/** Retry-After in seconds or as an HTTP date. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Turns a non-2xx response into an ApiError with the Status body's reason and message, when there is one. */
async function failure(res: http.IncomingMessage, path: string): Promise<ApiError> {
  const status = res.statusCode ?? 0;
  const text = (await readBody(res, MAX_ERROR_BODY).catch(() => Buffer.alloc(0))).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const reason = isRecord(body) ? str(body.reason) : undefined;
  const detail = (isRecord(body) ? str(body.message) : undefined) ?? (text.trim().slice(0, 200) || http.STATUS_CODES[status] || 'error');
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  return new ApiError(status, `GET ${path}: ${status} ${reason ?? http.STATUS_CODES[status] ?? ''}: ${detail}`, reason, retryAfter);
}

/** GET → parsed JSON; throws ApiError for a non-2xx answer, or the network error. */
export async function getJson(kc: KubeConfig, path: string, query: Query, signal: AbortSignal): Promise<unknown> {
  const res = await open(kc, path, query, signal);
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw await failure(res, path);
  return JSON.parse((await readBody(res)).toString('utf8')) as unknown;
}

/**
 * Opens a watch and calls `opened` once the API server has accepted it (200), then `onEvent` for each
 * event. Resolves when the server ends the stream; rejects with an ApiError when the watch is refused,
 * or with the network error (including an abort through `signal`) when the stream breaks.
 */
export async function watchStream(
  kc: KubeConfig,
  path: string,
  query: Query,
  signal: AbortSignal,
  handlers: { opened(): void; onEvent(event: WatchEvent): void },
): Promise<void> {
  const res = await open(kc, path, { ...query, watch: 'true' }, signal);
  const status = res.statusCode ?? 0;
  if (status !== 200) throw await failure(res, path);
  handlers.opened();
  let buffered = '';
  const line = (text: string): void => {
    if (text.trim() === '') return;
    const parsed = JSON.parse(text) as unknown;
    if (isRecord(parsed) && typeof parsed.type === 'string' && isRecord(parsed.object)) {
      handlers.onEvent({ type: parsed.type, object: parsed.object });
    }
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0 && !signal.aborted; nl = buffered.indexOf('\n')) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        line(text);
      } catch (err) {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
  });
  await finished(res);
  line(buffered);
}
