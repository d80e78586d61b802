/**
 * The admission webhook's HTTPS server: POST /inject takes an AdmissionReview v1 and answers with
 * admit()'s response. Its certificate and key are `tls.crt` and `tls.key` in a directory (a
 * cert-manager Certificate's Secret, mounted), re-read when the directory changes — Kubernetes swaps
 * the `..data` symlink of such a volume, so the directory is watched, not the files — and swapped in
 * with setSecureContext: connections already open keep theirs, new ones get the new pair. A pair that
 * does not load (unreadable, unparsable, key not matching the certificate) is an error in the log and
 * the last good pair keeps serving.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { watchMounted } from '../sources/mounted.js';
import { admit, parseAdmissionReview } from './admission.js';
import type { InjectSettings } from './settings.js';
import { hostPort } from '../host-port.js';

export const WEBHOOK_PATH = '/inject';
export const DEFAULT_WEBHOOK_PORT = 15017;
/** The API server sends at most a few MiB (an object is limited to 1.5 MiB in etcd). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
  readonly notAfter: string;
  readonly subject: string;
}

/** Reads and checks `tls.crt` and `tls.key` in `dir`; throws one line when they do not make a pair. */
export async function readKeyPair(dir: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('tls.key is not the key of tls.crt');
  return { cert, key, notAfter: x509.validTo, subject: x509.subject };
}

export interface AdmissionServerOptions {
  readonly host: string;
  readonly port: number;
  /** Holds tls.crt and tls.key. */
  readonly certDir: string;
  readonly settings: InjectSettings;
  readonly logger: Logger;
}

export interface AdmissionServer {
  /** https://host:port of the listening socket. */
  readonly url: string;
  readonly port: number;
  /** The pair serving now. */
  readonly certificate: { readonly subject: string; readonly notAfter: string };
  /** What is wrong with the files now, while the last good pair serves. */
  readonly certificateError: string | undefined;
  /** Re-reads the pair now (the directory watch calls it); resolves once read. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

class Certificate {
  current: KeyPair;
  problem: string | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    first: KeyPair,
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly apply: (pair: KeyPair) => void,
  ) {
    this.current = first;
  }

  /** Serialised: one read at a time, the last one wins. */
  reload(): Promise<void> {
    this.reading = this.reading.then(() => this.read());
    return this.reading;
  }

  private async read(): Promise<void> {
    let pair: KeyPair;
    try {
      pair = await readKeyPair(this.dir);
      if (pair.cert !== this.current.cert || pair.key !== this.current.key) this.apply(pair);
    } catch (err) {
      const message = (err as Error).message;
      if (this.problem !== message)
        this.logger.error(
          { dir: this.dir, problem: message },
          `the webhook certificate in ${this.dir} does not load: ${message}; the last good one keeps serving`,
        );
      this.problem = message;
      return;
    }
    this.problem = undefined;
    if (pair.cert === this.current.cert && pair.key === this.current.key) return;
    this.current = pair;
    this.logger.info({ dir: this.dir, subject: pair.subject, notAfter: pair.notAfter }, 'webhook certificate changed');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function handler(settings: InjectSettings, logger: Logger) {
  const fail = (res: ServerResponse, code: number, message: string, remote: string | undefined): void => {
    logger.warn({ remote, problem: message }, `malformed admission review: ${message}`);
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const remote = req.socket.remoteAddress;
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (path !== WEBHOOK_PATH) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: only POST ${WEBHOOK_PATH}\n`);
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end(`only POST ${WEBHOOK_PATH}\n`);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      return fail(res, 400, err instanceof SyntaxError ? `the body is not JSON: ${err.message}` : (err as Error).message, remote);
    }
    const review = parseAdmissionReview(body);
    if (typeof review === 'string') return fail(res, 400, review, remote);
    const { response, outcome, reason } = admit(review, settings);
    const r = review.request;
    const name = (r.object as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
    logger.info(
      { uid: r.uid, namespace: r.namespace, name: name?.name ?? name?.generateName, operation: r.operation, outcome, reason },
      `admission: ${outcome}`,
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
  };
}

/** Starts the server; rejects (one line naming the directory) when there is no valid pair to start with. */
export async function startAdmissionServer(opts: AdmissionServerOptions): Promise<AdmissionServer> {
  const { logger, certDir } = opts;
  let first: KeyPair;
  try {
    first = await readKeyPair(certDir);
  } catch (err) {
    throw new Error(`the webhook certificate in ${certDir} does not load: ${(err as Error).message}`);
  }
  const handle = handler(opts.settings, logger);
  const server: Server = createServer({ cert: first.cert, key: first.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'admission: internal error');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    });
  });
  const cert = new Certificate(first, certDir, logger, (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const watcher = watchMounted(
    certDir,
    ['tls.crt', 'tls.key'],
    () => void cert.reload(),
    (err) => logger.error({ dir: certDir, err: err.message }, 'cannot watch the webhook certificate any more: restart Trellis to pick up changes'),
  );
  const port = (server.address() as AddressInfo).port;
  logger.info({ address: `${opts.host}:${port}`, path: WEBHOOK_PATH, subject: first.subject, notAfter: first.notAfter }, 'admission webhook serving');
  return {
    url: `https://${hostPort(opts.host, port)}`,
    port,
    get certificate() {
      return { subject: cert.current.subject, notAfter: cert.current.notAfter };
    },
    get certificateError() {
      return cert.problem;
    },
    reload: () => cert.reload(),
    close() {
      watcher.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
