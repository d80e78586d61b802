/**
 * Creating the bench's objects in the API server as admin, `concurrency` requests in flight over
 * keep-alive HTTPS connections (raw JSON: client-node's typed models would cost more CPU than the
 * API server on a 2-core machine). A Pod's IP and phase go through its status subresource, as a
 * kubelet writes them: one create and one merge patch per Pod. Transient answers (429, 5xx, a reset
 * connection) are retried; a 409 on create counts as created (a retried request that had landed).
 */
import { Agent, request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { namespaceObject, serviceGroup, type ScaleParams } from './kube-objects.ts';

export interface CreateReport {
  readonly seconds: number;
  readonly requests: number;
  readonly retries: number;
  /** Mean JSON size of what was sent, per kind (before the API server adds its metadata and managedFields). */
  readonly bytes: { readonly service: number; readonly slice: number; readonly pod: number };
}

const ATTEMPTS = 6;
const REQUEST_TIMEOUT_MS = 30_000;

/** Raw JSON requests to the API server as admin, over keep-alive HTTPS, transient failures retried. */
export class Admin {
  private readonly agent: Agent;
  private readonly token: string;
  private readonly base: URL;
  requests = 0;
  retries = 0;

  constructor(url: string, caPem: string, adminKubeconfig: string, concurrency: number) {
    const kc = new KubeConfig();
    kc.loadFromString(adminKubeconfig);
    const token = kc.getCurrentUser()?.token;
    if (!token) throw new Error('the admin kubeconfig has no token');
    this.token = token;
    this.base = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: caPem });
  }

  private once(method: string, path: string, body: string, contentType: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            'content-type': contentType,
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request, retried on transient failures; 409 is accepted when `conflictOk`. */
  async send(method: 'POST' | 'PATCH', path: string, obj: unknown, opts: { conflictOk?: boolean; contentType?: string } = {}): Promise<void> {
    const body = JSON.stringify(obj);
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      let failure = '';
      let r: { status: number; text: string } | undefined;
      try {
        r = await this.once(method, path, body, opts.contentType ?? 'application/json');
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      if (r) {
        if (r.status >= 200 && r.status < 300) return;
        if (r.status === 409 && opts.conflictOk) return;
        failure = `${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`;
        // Only overload and server errors are worth a retry.
        if (r.status !== 429 && r.status < 500) throw new Error(failure);
      }
      if (attempt >= ATTEMPTS) throw new Error(`${failure} (after ${attempt} attempts)`);
      this.retries++;
      await sleep(200 * attempt);
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `tasks` with at most `concurrency` at a time; the first failure stops the rest. */
async function pool(tasks: Iterable<() => Promise<void>>, concurrency: number): Promise<void> {
  const it = tasks[Symbol.iterator]();
  let failed: Error | undefined;
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done && failed === undefined; next = it.next()) {
      try {
        await next.value();
      } catch (err) {
        failed ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failed !== undefined) throw failed;
}

/** Creates the namespaces, then every Service, EndpointSlice and Pod (with its status), reporting progress to stderr. */
export async function createObjects(env: { url: string; caPem: string; adminKubeconfig: string }, p: ScaleParams, concurrency: number): Promise<CreateReport> {
  const admin = new Admin(env.url, env.caPem, env.adminKubeconfig, concurrency);
  const t0 = performance.now();
  const total = p.services * (2 + p.podsPerService);
  let done = 0;
  const sizes = { service: 0, slice: 0, pod: 0 };
  const progress = setInterval(() => {
    process.stderr.write(`kube-bench: created ${done} / ${total} objects (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }, 10_000);
  try {
    await pool(
      Array.from({ length: p.namespaces }, (_, i) => () => admin.send('POST', '/api/v1/namespaces', namespaceObject(i), { conflictOk: true })),
      concurrency,
    );
    function* tasks(): Generator<() => Promise<void>> {
      for (let i = 0; i < p.services; i++) {
        const g = serviceGroup(i, p);
        const ns = encodeURIComponent(g.namespace);
        if (i === 0) {
          sizes.service = JSON.stringify(g.service).length;
          sizes.slice = JSON.stringify(g.slice).length;
          sizes.pod = JSON.stringify({ ...g.pods[0]?.body, status: g.pods[0]?.status }).length;
        }
        yield async () => {
          await admin.send('POST', `/api/v1/namespaces/${ns}/services`, g.service, { conflictOk: true });
          done++;
        };
        yield async () => {
          await admin.send('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, g.slice, { conflictOk: true });
          done++;
        };
        for (const pod of g.pods) {
          yield async () => {
            await admin.send('POST', `/api/v1/namespaces/${ns}/pods`, pod.body, { conflictOk: true });
            await admin.send(
              'PATCH',
              `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.name)}/status`,
              { status: pod.status },
              { contentType: 'application/merge-patch+json' },
            );
            done++;
          };
        }
      }
    }
    await pool(tasks(), concurrency);
  } finally {
    clearInterval(progress);
    admin.close();
  }
  return { seconds: (performance.now() - t0) / 1000, requests: admin.requests, retries: admin.retries, bytes: sizes };
}
