/**
 * The table rows of `trellis proxy-config`, one function per type, from a resource as the debug
 * endpoint gives it (protobuf JSON, snake_case). Pure, and tolerant: a field a resource lacks is `-`,
 * never an exception — the shape of Envoy's API is wide and this is a view, not a validator.
 */
import type { X509Certificate } from 'node:crypto';
import { parsePemCertificates } from '../certs/verify.js';
import { hostPort } from '../host-port.js';
import { NONE } from './print.js';

export type Row = readonly string[];

type Json = Readonly<Record<string, unknown>>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown, fallback = NONE): string {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback;
}

/** `a, b, c +2 more`: at most `max` items. */
function some(items: readonly string[], max = 3): string {
  if (items.length === 0) return NONE;
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} +${items.length - max} more` : shown;
}

function socketAddress(address: unknown): string {
  const s = obj(obj(address).socket_address);
  if (s.address === undefined) return NONE;
  return hostPort(str(s.address), str(s.port_value, '0'));
}

/** NAME, TYPE (EDS, STATIC, ORIGINAL_DST, …), LB POLICY, SOURCES. */
export function clusterRow(name: string, resource: unknown, sources: readonly string[]): Row {
  const c = obj(resource);
  const type = c.type ?? (c.cluster_type !== undefined ? str(obj(c.cluster_type).name) : undefined);
  return [name, str(type, 'EDS'), str(c.lb_policy, 'ROUND_ROBIN'), some(sources, 2)];
}

/** NAME, ADDRESS (`ip:port`, or `api_listener` for a proxyless gRPC client's), DIRECTION, FILTER CHAINS. */
export function listenerRow(name: string, resource: unknown): Row {
  const l = obj(resource);
  const address = l.api_listener !== undefined ? 'api_listener' : socketAddress(l.address);
  const chains = list(l.filter_chains).length + (l.default_filter_chain !== undefined ? 1 : 0);
  return [name, address, str(l.traffic_direction), String(chains)];
}

/** One row per virtual host: NAME, VIRTUAL HOST, DOMAINS (the first three), ROUTES (how many). */
export function routeRows(name: string, resource: unknown): Row[] {
  const hosts = list(obj(resource).virtual_hosts).map(obj);
  if (hosts.length === 0) return [[name, NONE, NONE, '0']];
  return hosts.map((h) => [name, str(h.name), some(list(h.domains).map((d) => str(d))), String(list(h.routes).length)]);
}

/** One row per endpoint: ENDPOINT, HEALTH (UNKNOWN when unsaid, as Envoy takes it), LOCALITY, PRIORITY, CLUSTER. */
export function endpointRows(name: string, resource: unknown): Row[] {
  const localities = list(obj(resource).endpoints).map(obj);
  const rows = localities.flatMap((loc) => {
    const l = obj(loc.locality);
    const locality = [l.region, l.zone, l.sub_zone].filter((p) => typeof p === 'string' && p !== '').join('/') || NONE;
    const priority = str(loc.priority, '0');
    return list(loc.lb_endpoints)
      .map(obj)
      .map((e) => [socketAddress(obj(e.endpoint).address), str(e.health_status, 'UNKNOWN'), locality, priority, name]);
  });
  return rows.length > 0 ? rows : [[NONE, NONE, NONE, NONE, name]];
}

/** The certificates of a PEM text; none when there is none, or one that does not parse (Trellis serves only certificates that do). */
function certificates(pem: unknown): readonly X509Certificate[] {
  try {
    return parsePemCertificates(typeof pem === 'string' ? pem : '');
  } catch {
    return [];
  }
}

function notAfter(cert: X509Certificate): string {
  const t = new Date(cert.validTo);
  return Number.isNaN(t.getTime()) ? cert.validTo : t.toISOString();
}

/**
 * NAME, TYPE (`certificate` or `trust bundle`, and how many roots), SERIAL, NOT AFTER — of the first
 * certificate in the chain or bundle. Reads the certificate only: nothing of a private key.
 */
export function secretRow(name: string, resource: unknown): Row {
  const s = obj(resource);
  const chain = obj(obj(s.tls_certificate).certificate_chain).inline_string;
  const bundle = obj(obj(s.validation_context).trusted_ca).inline_string;
  const kind = chain !== undefined ? 'certificate' : bundle !== undefined ? 'trust bundle' : NONE;
  const pem = chain ?? bundle;
  const certs = certificates(pem);
  const cert = certs[0];
  const type = kind === 'trust bundle' ? `trust bundle (${certs.length} ${certs.length === 1 ? 'root' : 'roots'})` : kind;
  return [name, type, cert ? cert.serialNumber : NONE, cert ? notAfter(cert) : NONE];
}
