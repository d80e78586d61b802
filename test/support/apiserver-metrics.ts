/**
 * The API server's Prometheus metrics (/metrics, as the envtest admin), and the samples of one of them
 * with their labels.
 */
import { request } from 'node:https';
import { parse } from 'yaml';
import type { Envtest } from './envtest.ts';

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The text of /metrics. */
export async function apiServerMetrics(env: Envtest): Promise<string> {
  const doc = parse(env.adminKubeconfig) as { users: { user: { token: string } }[] };
  const token = doc.users[0]?.user.token ?? '';
  return new Promise<string>((resolve, reject) => {
    request(`${env.url}/metrics`, { ca: env.caPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** The samples of metric `name` in a /metrics text. */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}
