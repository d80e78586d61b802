/**
 * What the admission server tests share: a test CA and serving pairs for 127.0.0.1 made with openssl,
 * mounted the way the kubelet mounts a Secret (files behind a `..data` symlink swapped atomically),
 * and a client that posts a review over HTTPS.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request, type Agent } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TLSSocket } from 'node:tls';

const run = promisify(execFile);

export interface Pair {
  readonly cert: string;
  readonly key: string;
  readonly serial: string;
}

/** A CA in `dir` (ca.crt, ca.key); `issue()` signs a new P-256 serving pair for IP 127.0.0.1 each time. */
export async function makeCa(dir: string): Promise<{ caPem: string; issue(): Promise<Pair> }> {
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
  await ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=trellis-admission-test-ca', ...caExt);
  await writeFile(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  let serial = 0x1000;
  return {
    caPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
    async issue() {
      const n = ++serial;
      await ossl('req', '-new', ...ec, '-keyout', `leaf${n}.key`, '-out', `leaf${n}.csr`, '-subj', '/CN=127.0.0.1');
      const sign = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(n), '-days', '1', '-extfile', 'leaf.ext'];
      await ossl('x509', '-req', '-in', `leaf${n}.csr`, ...sign, '-out', `leaf${n}.crt`);
      const [cert, key] = await Promise.all([readFile(join(dir, `leaf${n}.crt`), 'utf8'), readFile(join(dir, `leaf${n}.key`), 'utf8')]);
      return { cert, key, serial: n.toString(16).toUpperCase() };
    },
  };
}

let generation = 0;
/** Mounts tls.crt and tls.key in `dir` as the kubelet does: a new `..<ts>` directory, `..data` swapped to it by rename. */
export async function mountSecret(dir: string, files: { 'tls.crt': string; 'tls.key': string }): Promise<void> {
  const gen = `..gen_${++generation}`;
  await mkdir(join(dir, gen), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, gen, name), text);
  await symlink(gen, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files))
    await symlink(join('..data', name), join(dir, name)).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  if (generation > 1) await rm(join(dir, `..gen_${generation - 1}`), { recursive: true, force: true }).catch(() => undefined);
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** The serial of the certificate the server presented (hex). */
  readonly serial: string;
  readonly reusedSocket: boolean;
}

/** POSTs `body` to `url` (trusting `caPem` only). */
export function post(url: string, caPem: string, body: string, opts: { agent?: Agent; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'POST', ca: caPem, agent: opts.agent ?? false, headers: { 'content-type': 'application/json' }, timeout: 5_000 },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), serial, reusedSocket: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(body);
  });
}
