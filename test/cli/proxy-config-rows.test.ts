/**
 * The rows of `trellis proxy-config secrets` from a real certificate (openssl): serial and expiry of
 * the chain's first certificate, roots counted in a bundle, and nothing of the private key.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretRow } from '../../src/cli/proxy-config-rows.ts';
import { openPki, type Pki } from '../support/pki.ts';

let pki: Pki;
let certPem: string;
let keyPem: string;

beforeAll(async () => {
  pki = await openPki();
  ({ certPem, keyPem } = await pki.root('web'));
});

afterAll(async () => {
  await pki?.close();
});

describe('secretRow', () => {
  it("shows a workload certificate's serial and not-after, and nothing of its key", () => {
    const cert = new X509Certificate(certPem);
    const row = secretRow('default', {
      name: 'default',
      tls_certificate: { certificate_chain: { inline_string: certPem }, private_key: { inline_string: keyPem } },
    });
    expect(row).toEqual(['default', 'certificate', cert.serialNumber, new Date(cert.validTo).toISOString()]);
    expect(row.join(' ')).not.toContain('PRIVATE');
  });

  it('counts the roots of a trust bundle', () => {
    const row = secretRow('ROOTCA', { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: `${certPem}${certPem}` } } });
    expect(row.slice(0, 2)).toEqual(['ROOTCA', 'trust bundle (2 roots)']);
  });

  it('shows - where there is no certificate that parses', () => {
    expect(secretRow('odd', { name: 'odd', tls_certificate: { certificate_chain: { inline_string: 'not a pem' } } })).toEqual(['odd', 'certificate', '-', '-']);
  });

  it('shows - and counts no roots when a certificate of the bundle does not parse', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(secretRow('ROOTCA', { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: `${certPem}${broken}` } } })).toEqual([
      'ROOTCA',
      'trust bundle (0 roots)',
      '-',
      '-',
    ]);
  });
});
