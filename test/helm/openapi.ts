/**
 * Unknown fields, checked against the OpenAPI v3 an API server serves (/openapi/v3): its built-in kinds and the
 * schemas of the CRDs installed in it (cert-manager's, say). The kubernetes-models validators let unknown fields
 * through, and client-node's serializer drops them before they reach the server, so neither would notice a
 * misspelt field of a template.
 */
import { request } from 'node:https';
import { parse } from 'yaml';
import type { Envtest } from '../support/envtest.ts';

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
};

function get(env: Envtest, path: string): Promise<unknown> {
  const kubeconfig = parse(env.adminKubeconfig) as { users: { user: { token: string } }[] };
  const token = kubeconfig.users[0]?.user.token ?? '';
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, env.url), { ca: env.caPem, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode}: ${body.slice(0, 300)}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface OpenApi {
  /** The fields of `object` its kind's schema does not have, as paths (a kind the server does not know is one). */
  unknownFields(object: { apiVersion: string; kind: string }): string[];
}

/** The server's OpenAPI v3 of these group-versions (`v1`, `apps/v1`, `cert-manager.io/v1`, ...). */
export async function servedOpenApi(env: Envtest, groupVersions: readonly string[]): Promise<OpenApi> {
  const index = (await get(env, '/openapi/v3')) as { paths: Record<string, { serverRelativeURL: string }> };
  const schemas: Record<string, Schema> = {};
  for (const gv of new Set(groupVersions)) {
    const key = gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
    const entry = index.paths[key];
    if (!entry) throw new Error(`the API server serves no OpenAPI for ${gv}`);
    const doc = (await get(env, entry.serverRelativeURL)) as { components: { schemas: Record<string, Schema> } };
    Object.assign(schemas, doc.components.schemas);
  }
  const resolve = (s: Schema): Schema => {
    if (s.$ref) return resolve(schemas[s.$ref.replace('#/components/schemas/', '')] ?? {});
    if (s.allOf?.length === 1 && s.allOf[0]) return resolve({ ...s, allOf: undefined, ...s.allOf[0] });
    return s;
  };
  const walk = (value: unknown, schema: Schema, path: string): string[] => {
    const s = resolve(schema);
    if (s['x-kubernetes-preserve-unknown-fields'] === true || typeof value !== 'object' || value === null) return [];
    if (Array.isArray(value)) return s.items ? value.flatMap((v, i) => walk(v, s.items ?? {}, `${path}[${i}]`)) : [];
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    if (!s.properties && !extra) return [];
    return Object.entries(value).flatMap(([k, v]) => {
      const known = s.properties?.[k] ?? extra;
      return known ? walk(v, known, `${path}.${k}`) : [`${path}.${k}`];
    });
  };
  return {
    unknownFields(object) {
      const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
      const root = Object.values(schemas).find((s) =>
        s['x-kubernetes-group-version-kind']?.some((g) => g.group === group && g.version === version && g.kind === object.kind),
      );
      if (!root) return [`no schema for ${object.apiVersion} ${object.kind}`];
      return walk(object, root, '');
    },
  };
}
