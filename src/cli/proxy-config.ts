/**
 * `trellis proxy-config TYPE PROXY`: what one proxy has acked of one type, from the debug endpoint's
 * `/debug/resources?proxy=ID` (each resource with the objects that produced it, key material
 * redacted), as a table of the fields people look for, or JSON/YAML with the resources themselves.
 * Secrets show their certificate's serial and expiry; a private key is never printed (the endpoint
 * redacts it, and so does this command, again, before printing anything).
 */
import { z } from 'zod';
import type { ConfigType, OutputFormat } from '../config/debug-client.js';
import { redactSensitive } from '../debug/redact.js';
import { escapeControl, oneLine } from '../debug/text.js';
import { parseReply, httpGet, type Endpoint } from './debug-http.js';
import { documentText, NONE, table } from './print.js';
import { clusterRow, endpointRows, listenerRow, routeRows, secretRow, type Row } from './proxy-config-rows.js';
import type { CommandIO } from './offline.js';

const resourcesSchema = z.object({
  proxy: z.string(),
  types: z.array(
    z.object({
      type: z.string(),
      kind: z.string(),
      versionAcked: z.string(),
      lastError: z.object({ message: z.string(), rejectedVersion: z.string().optional() }).passthrough().optional(),
      resources: z.array(z.object({ name: z.string(), version: z.string(), sources: z.array(z.string()), resource: z.unknown() })),
    }),
  ),
});

type Resources = z.output<typeof resourcesSchema>;
type ResourceEntry = Resources['types'][number]['resources'][number];

/** What each TYPE is called on /debug/resources, and its table. */
const TYPES: Readonly<Record<ConfigType, { readonly kind: string; readonly header: readonly string[]; readonly rows: (r: ResourceEntry) => Row[] }>> = {
  clusters: { kind: 'cluster', header: ['NAME', 'TYPE', 'LB POLICY', 'SOURCES'], rows: (r) => [clusterRow(r.name, r.resource, r.sources)] },
  listeners: { kind: 'listener', header: ['NAME', 'ADDRESS', 'DIRECTION', 'FILTER CHAINS'], rows: (r) => [listenerRow(r.name, r.resource)] },
  routes: { kind: 'route', header: ['NAME', 'VIRTUAL HOST', 'DOMAINS', 'ROUTES'], rows: (r) => routeRows(r.name, r.resource) },
  endpoints: { kind: 'endpoint', header: ['ENDPOINT', 'HEALTH', 'LOCALITY', 'PRIORITY', 'CLUSTER'], rows: (r) => endpointRows(r.name, r.resource) },
  secrets: { kind: 'secret', header: ['NAME', 'TYPE', 'SERIAL', 'NOT AFTER'], rows: (r) => [secretRow(r.name, r.resource)] },
};

export interface ProxyConfigOptions {
  readonly debug: Endpoint;
  readonly type: ConfigType;
  readonly proxy: string;
  readonly output: OutputFormat;
}

/** 0 with the table (or document); 1 when the proxy is not connected. */
export async function runProxyConfig(options: ProxyConfigOptions, io: CommandIO): Promise<number> {
  const path = `/debug/resources?proxy=${encodeURIComponent(options.proxy)}`;
  const reply = await httpGet(options.debug, path);
  if (reply.status === 404) {
    io.err(
      `proxy ${JSON.stringify(options.proxy)} is not connected to Trellis at ${options.debug.label}; run trellis proxy-status for the connected proxies\n`,
    );
    return 1;
  }
  const all = parseReply(options.debug, path, reply, resourcesSchema);
  const spec = TYPES[options.type];
  const held = all.types.find((t) => t.kind === spec.kind);
  const resources = held?.resources ?? [];
  if (options.output !== 'table') {
    const shown = resources.map((r) => ({ ...r, resource: redactSensitive(r.resource) }));
    const error = held?.lastError ? { lastError: held.lastError } : {};
    io.out(documentText({ proxy: all.proxy, type: options.type, versionAcked: held?.versionAcked ?? '', ...error, resources: shown }, options.output));
    return 0;
  }
  if (resources.length === 0) io.out(`${options.proxy} holds no ${options.type}\n`);
  else io.out(table(spec.header, resources.flatMap(spec.rows)));
  if (held?.lastError) io.err(`the proxy's last answer of this type was a NACK: ${escapeControl(oneLine(held.lastError.message)) || NONE}\n`);
  return 0;
}
