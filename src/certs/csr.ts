/**
 * A workload's key and certificate signing request: an ECDSA P-256 key made in memory (never written,
 * logged or exported), and a PKCS #10 request with an empty subject whose only extension is a
 * subjectAltName holding the one URI of the identity. ASN.1 from @peculiar's schema packages; the
 * signature from node:crypto.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Attribute,
  Extension,
  Extensions,
  GeneralName,
  id_ce_subjectAltName,
  Name,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';

/** PKCS #9 extensionRequest: the extensions asked for in the certificate. */
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export interface KeyAndCsr {
  readonly privateKey: KeyObject;
  /** DER of the SubjectPublicKeyInfo, to compare with an issued certificate's. */
  readonly publicKeyDer: Buffer;
  readonly csrPem: string;
}

export function pemBlock(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A fresh P-256 key and a CSR for `uri` (a SPIFFE ID), and DNS names when a server needs them, signed with it. */
export function newKeyAndCsr(uri: string, dnsNames: readonly string[] = []): KeyAndCsr {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyDer = publicKey.export({ type: 'spki', format: 'der' });
  const san = new SubjectAlternativeName([new GeneralName({ uniformResourceIdentifier: uri }), ...dnsNames.map((dNSName) => new GeneralName({ dNSName }))]);
  const extensions = new Extensions([new Extension({ extnID: id_ce_subjectAltName, critical: false, extnValue: new OctetString(AsnConvert.serialize(san)) })]);
  const info = new CertificationRequestInfo({ subject: new Name(), subjectPKInfo: AsnConvert.parse(publicKeyDer, SubjectPublicKeyInfo) });
  info.attributes.push(new Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(extensions)] }));
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(info)), { key: privateKey, dsaEncoding: 'der' });
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  return { privateKey, publicKeyDer, csrPem: pemBlock('CERTIFICATE REQUEST', new Uint8Array(AsnConvert.serialize(request))) };
}
