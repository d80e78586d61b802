/**
 * The debug endpoint as the commands read it: one GET, JSON back, checked against the shape the
 * command relies on. The request carries the `Host` it was addressed to (a loopback address or
 * `localhost`), which a debug endpoint bound to loopback admits. Anything but an answer — nobody
 * listening, a timeout, a server that is not Trellis — is one error naming the address.
 */
import { request } from 'node:http';
import type { z } from 'zod';

/** Where an endpoint is, and how to name it in an error (`127.0.0.1:15014`, or the pod behind a port-forward). */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly label: string;
}

const TIMEOUT_MS = 15_000;

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** GET `path` of the endpoint. Throws, naming the endpoint, when there is no answer. */
export function httpGet(endpoint: Endpoint, path: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(new Error(`cannot reach Trellis's debug endpoint at ${endpoint.label}: ${err.message}`));
    const req = request(
      { host: endpoint.host, port: endpoint.port, path, method: 'GET', headers: { accept: 'application/json' }, timeout: TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', fail);
    req.end();
  });
}

/** The first line of a body, for messages. */
function firstLine(body: string): string {
  return (body.split('\n')[0] ?? '').slice(0, 200);
}

/** A reply's JSON body checked against `schema`; an error naming the URL when it is not. */
export function parseReply<S extends z.ZodType>(endpoint: Endpoint, path: string, reply: HttpReply, schema: S): z.output<S> {
  const where = `${endpoint.label}: GET ${path}`;
  if (reply.status !== 200) throw new Error(`${where}: HTTP ${reply.status}: ${firstLine(reply.body)}`);
  let json: unknown;
  try {
    json = JSON.parse(reply.body);
  } catch {
    throw new Error(`${where}: not JSON (is this Trellis's debug endpoint?): ${firstLine(reply.body)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: unexpected answer (is this Trellis's debug endpoint?): ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
