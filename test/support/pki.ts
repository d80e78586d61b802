/**
 * Throwaway certificate authorities for unit tests, made with openssl (node:crypto cannot issue
 * certificates): a root (self-signed, also a server's own certificate), an intermediate, and leaves
 * signed from a CSR with chosen extensions. The tests against the real cert-manager use its issuers instead.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Ca {
  readonly certPem: string;
  readonly keyPem: string;
  readonly keyFile: string;
  readonly certFile: string;
}

export interface Pki {
  /** A self-signed CA named `name`; `subjectAltName` (e.g. `DNS:trellis`) lets it serve TLS as itself. */
  root(name: string, subjectAltName?: string): Promise<Ca>;
  intermediate(name: string, parent: Ca): Promise<Ca>;
  /** Signs `csrPem` with `ca`; `ext` is an openssl extension file's text (subjectAltName, basicConstraints...). */
  sign(csrPem: string, ca: Ca, ext: string, days?: number): Promise<string>;
  /** A key and CSR made by openssl, not by the request's own key (for "the key is not the request's"). */
  foreignCsr(): Promise<string>;
  close(): Promise<void>;
}

export async function openPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-pki-'));
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  let n = 0;
  const caExt = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n';
  const sign = async (csrPem: string, ca: Ca, ext: string, days = 1): Promise<string> => {
    const id = ++n;
    await writeFile(join(dir, `${id}.csr`), csrPem);
    await writeFile(join(dir, `${id}.ext`), ext);
    await ossl(
      'x509',
      '-req',
      '-in',
      `${id}.csr`,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String(1000 + id),
      '-days',
      String(days),
      '-extfile',
      `${id}.ext`,
      '-out',
      `${id}.crt`,
    );
    return readFile(join(dir, `${id}.crt`), 'utf8');
  };
  const ca = async (name: string, certPem: string): Promise<Ca> => ({
    certPem,
    keyPem: await readFile(join(dir, `${name}.key`), 'utf8'),
    keyFile: `${name}.key`,
    certFile: `${name}.crt`,
  });
  return {
    async root(name, subjectAltName) {
      await ossl(
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        // Serving TLS as itself takes digitalSignature as well.
        `keyUsage=critical,keyCertSign,cRLSign${subjectAltName ? ',digitalSignature' : ''}`,
        ...(subjectAltName ? ['-addext', `subjectAltName=${subjectAltName}`] : []),
      );
      return ca(name, await readFile(join(dir, `${name}.crt`), 'utf8'));
    },
    async intermediate(name, parent) {
      await ossl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      const certPem = await sign(await readFile(join(dir, `${name}.csr`), 'utf8'), parent, caExt);
      await writeFile(join(dir, `${name}.crt`), certPem);
      return ca(name, certPem);
    },
    sign,
    async foreignCsr() {
      const id = ++n;
      await ossl('req', '-new', ...ec, '-keyout', `f${id}.key`, '-out', `f${id}.csr`, '-subj', '/');
      return readFile(join(dir, `f${id}.csr`), 'utf8');
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export const leafExt = (...uris: string[]): string =>
  `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${uris.map((u) => `URI:${u}`).join(',')}\n`;
