/**
 * What makes an issued certificate servable: its key is the one the request was made with, it is
 * not a CA, its only URI SAN is the identity, it is valid now, and it chains (through intermediates
 * the issuer sent along) to a root of the configured trust bundle. The issuer's own `status.ca` is
 * never trusted for this.
 */
import { X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_CHAIN = 8;

/** Every certificate in a PEM text, in order. Throws naming the block that does not parse. */
export function parsePemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of ${blocks.length} does not parse: ${(err as Error).message}`);
    }
  });
}

/** A trust bundle: one or more CA certificates. Throws with what is wrong with it. */
export function parseTrustBundle(pem: string): X509Certificate[] {
  const roots = parsePemCertificates(pem);
  if (roots.length === 0) throw new Error('holds no PEM certificate');
  const notCa = roots.find((r) => !r.ca);
  if (notCa) throw new Error(`holds a certificate that is not a CA (${notCa.subject || 'empty subject'}, serial ${notCa.serialNumber})`);
  return roots;
}

/**
 * One `TYPE:value` entry of Node's subjectAltName text, from `at`. Node writes a value that holds a
 * comma, a quote, a backslash or a control character as a JSON string literal (so that a value can
 * never pass for another entry); any other value is written as it is, and holds none of those.
 */
const SAN_ENTRY = /([A-Za-z][A-Za-z ]*):(?:("(?:[^"\\]|\\.)*")|([^,"\\']*))(?:, |$)/y;

/** The URIs of a certificate's subjectAltName extension (read from Node's own rendering of it: no ASN.1 parse in JavaScript). */
export function uriSans(cert: X509Certificate): string[] {
  const text = cert.subjectAltName;
  if (!text) return [];
  const uris: string[] = [];
  SAN_ENTRY.lastIndex = 0;
  while (SAN_ENTRY.lastIndex < text.length) {
    const at = SAN_ENTRY.lastIndex;
    const m = SAN_ENTRY.exec(text);
    if (!m) throw new Error(`the subjectAltName of certificate ${cert.serialNumber} cannot be read at character ${at}`);
    if (m[1] === 'URI') uris.push(m[2] === undefined ? (m[3] ?? '') : (JSON.parse(m[2]) as string));
  }
  return uris;
}

export interface IssuedCertificate {
  /** The leaf then the intermediates the issuer sent, PEM: what a proxy presents. */
  readonly chainPem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export type CheckResult = { readonly ok: true; readonly cert: IssuedCertificate } | { readonly ok: false; readonly reason: string };

export interface Expectation {
  readonly identity: string;
  readonly publicKeyDer: Buffer;
  readonly roots: readonly X509Certificate[];
  readonly now: Date;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Walks from the leaf through the given intermediates to a root; undefined when it gets there, else where it stopped. */
export function chainsToRoot(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): string | undefined {
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (roots.some((r) => issuedBy(current, r))) return undefined;
    const next = intermediates.find((i) => i.ca && i !== current && issuedBy(current, i));
    if (!next)
      return `does not chain to the trust bundle (no root or intermediate issued "${current.subject || current.serialNumber}", issuer "${current.issuer}")`;
    current = next;
  }
  return `has a chain longer than ${MAX_CHAIN}`;
}

/** Checks `pem` (status.certificate of a CertificateRequest) against what was asked for. */
export function checkIssued(pem: string, want: Expectation): CheckResult {
  let chain: X509Certificate[];
  try {
    chain = parsePemCertificates(pem);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const [leaf, ...intermediates] = chain;
  if (!leaf) return { ok: false, reason: 'the issuer returned no certificate' };
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(want.publicKeyDer))
    return { ok: false, reason: "the certificate's key is not the request's" };
  if (leaf.ca) return { ok: false, reason: 'the certificate is a CA (basicConstraints CA:TRUE)' };
  let uris: string[];
  try {
    uris = uriSans(leaf);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (uris.length !== 1 || uris[0] !== want.identity) return { ok: false, reason: `its URI SANs are [${uris.join(', ')}], not only ${want.identity}` };
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (!(notBefore <= want.now && want.now < notAfter)) return { ok: false, reason: `it is not valid now (${leaf.validFrom} to ${leaf.validTo})` };
  const broken = chainsToRoot(leaf, intermediates, want.roots);
  if (broken) return { ok: false, reason: `it ${broken}` };
  return { ok: true, cert: { chainPem: chain.map((c) => c.toString()).join(''), serial: leaf.serialNumber, notBefore, notAfter } };
}
