/**
 * A certificate is served only if it is the one asked for: the request's key, the identity as its only
 * URI SAN, not a CA, valid now, chaining to the configured bundle (through intermediates it brings).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyAndCsr } from '../../src/certs/csr.ts';
import { checkIssued, parseTrustBundle, uriSans } from '../../src/certs/verify.ts';
import { leafExt, openPki, type Ca, type Pki } from '../support/pki.ts';

const ID = 'spiffe://cluster.local/ns/shop/sa/web';
let pki: Pki;
let root: Ca;
let other: Ca;
let inter: Ca;

beforeAll(async () => {
  pki = await openPki();
  root = await pki.root('root');
  other = await pki.root('other');
  inter = await pki.intermediate('inter', root);
});
afterAll(() => pki.close());

const roots = () => parseTrustBundle(root.certPem);
const now = () => new Date();

describe('the CSR', () => {
  it('is a PKCS #10 request that openssl verifies, with only the URI SAN and the key it was made with', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const text = execFileSync('openssl', ['req', '-noout', '-text', '-verify'], { input: csrPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(text).toMatch(/Subject: *\n/);
    expect(text.match(/URI:/g)).toHaveLength(1);
    const cert = new X509Certificate(await pki.sign(csrPem, root, leafExt(ID)));
    expect(cert.subjectAltName).toBe(`URI:${ID}`);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKeyDer)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});

describe('checkIssued', () => {
  it('accepts the certificate asked for, and reports its serial and dates', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const pem = await pki.sign(csrPem, root, leafExt(ID));
    const r = checkIssued(pem, { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(r.ok && r.cert.serial).toBe(new X509Certificate(pem).serialNumber);
    expect(r.ok && r.cert.notAfter > new Date()).toBe(true);
  });

  it('accepts a chain through an intermediate the issuer sent, and serves the chain', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const pem = (await pki.sign(csrPem, inter, leafExt(ID))) + inter.certPem;
    const r = checkIssued(pem, { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(r.ok && r.cert.chainPem.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);
  });

  it.each([
    ['another identity', leafExt('spiffe://cluster.local/ns/shop/sa/admin'), /URI SANs are \[spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin\], not only/],
    ['a second URI SAN', leafExt(ID, 'spiffe://cluster.local/ns/x/sa/y'), /URI SANs are \[.*, .*\]/],
    ['no SAN at all', 'basicConstraints=critical,CA:FALSE\n', /URI SANs are \[\]/],
    ['a CA', `basicConstraints=critical,CA:TRUE\nsubjectAltName=URI:${ID}\n`, /is a CA/],
  ])('refuses %s', async (_what, ext, reason) => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const r = checkIssued(await pki.sign(csrPem, root, ext), { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(r.ok ? 'accepted' : r.reason).toMatch(reason);
  });

  it("refuses a certificate for another key than the request's", async () => {
    const { publicKeyDer } = newKeyAndCsr(ID);
    const r = checkIssued(await pki.sign(await pki.foreignCsr(), root, leafExt(ID)), { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(r.ok ? 'accepted' : r.reason).toBe("the certificate's key is not the request's");
  });

  it('refuses a certificate from a CA outside the bundle, and a chain missing its intermediate', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const foreign = checkIssued(await pki.sign(csrPem, other, leafExt(ID)), { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(foreign.ok ? 'accepted' : foreign.reason).toMatch(/does not chain to the trust bundle .*issuer "CN=other"/);
    const orphan = checkIssued(await pki.sign(csrPem, inter, leafExt(ID)), { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(orphan.ok ? 'accepted' : orphan.reason).toMatch(/issuer "CN=inter"/);
  });

  it('refuses a certificate not valid at the time given', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const pem = await pki.sign(csrPem, root, leafExt(ID), 1);
    const later = new Date(Date.now() + 3 * 86_400_000);
    const r = checkIssued(pem, { identity: ID, publicKeyDer, roots: roots(), now: later });
    expect(r.ok ? 'accepted' : r.reason).toMatch(/not valid now/);
  });

  it('reads the URI SANs from the extension itself: other SAN types beside the one URI are not its concern', async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const pem = await pki.sign(csrPem, root, `basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:web.shop.svc,URI:${ID},IP:10.0.0.7\n`);
    expect(uriSans(new X509Certificate(pem))).toEqual([ID]);
    expect(checkIssued(pem, { identity: ID, publicKeyDer, roots: roots(), now: now() }).ok).toBe(true);
  });

  it("reads Node's rendering of the SANs as the ASN.1 says: a comma or quote in a URI, and a directory name dressed as a URI, change nothing", async () => {
    const { csrPem, publicKeyDer } = newKeyAndCsr(ID);
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'subjectAltName=@alt',
      '[alt]',
      `URI.1=${ID}`,
      'DNS.1=web.shop.svc',
      'email.1=ops@example.com',
      'IP.1=10.0.0.7',
      'URI.2=http://example.com/a,b',
      'dirName.1=dir',
      '[dir]',
      `CN=x, URI:spiffe://cluster.local/ns/shop/sa/admin`,
      '',
    ].join('\n');
    const cert = new X509Certificate(await pki.sign(csrPem, root, ext));
    // Node quotes what could be read as another entry:
    expect(cert.subjectAltName).toContain('DirName:"');
    expect(cert.subjectAltName).toContain('URI:"http://example.com/a\\u002cb"');
    const asn1 = AsnConvert.parse(cert.raw, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
    const reference = AsnConvert.parse(asn1?.extnValue.buffer ?? new ArrayBuffer(0), SubjectAlternativeName).flatMap((n) =>
      n.uniformResourceIdentifier === undefined ? [] : [n.uniformResourceIdentifier],
    );
    expect(reference).toEqual([ID, 'http://example.com/a,b']);
    expect(uriSans(cert)).toEqual(reference);
    const r = checkIssued(cert.toString(), { identity: ID, publicKeyDer, roots: roots(), now: now() });
    expect(r.ok ? 'accepted' : r.reason).toBe(`its URI SANs are [${ID}, http://example.com/a,b], not only ${ID}`);
  });
});

describe('parseTrustBundle', () => {
  it('takes every CA of the text, and names what is wrong otherwise', async () => {
    expect(parseTrustBundle(root.certPem + other.certPem).map((c) => c.subject)).toEqual(['CN=root', 'CN=other']);
    expect(() => parseTrustBundle('nothing here')).toThrow('holds no PEM certificate');
    const { csrPem } = newKeyAndCsr(ID);
    const leaf = await pki.sign(csrPem, root, leafExt(ID));
    expect(() => parseTrustBundle(root.certPem + leaf)).toThrow(/not a CA \(empty subject, serial/);
  });
});
