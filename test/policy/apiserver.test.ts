/**
 * The real API server is the judge: the generated CRD installs (so it is structural, and its CEL
 * rules compile within the cost budget), every example is accepted, and every invalid policy is
 * refused with the field path our own zod check reports.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sharedEnvtest, type Envtest } from '../support/envtest.ts';
import { examples, fieldPath, invalid, repo, type Doc } from './cases.ts';
import { trafficPolicySchema } from '../../src/policy/schema.ts';

interface Status {
  code?: number;
  message?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

let env: Envtest;
let token: string;

/** A raw request with the admin token (no client-node serializer between us and the API server). */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${env.url}${path}`,
      {
        method,
        ca: env.caPem,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
      },
    );
    req.once('error', rej);
    req.end(data);
  });
}

const create = (ns: string, doc: Doc) =>
  api('POST', `/apis/trellis.dev/v1alpha1/namespaces/${ns}/trafficpolicies?fieldValidation=Strict`, { ...doc, metadata: { ...doc.metadata, namespace: ns } });

/** The field paths of a refusal: causes[].field, or the field of a strict decoding error's message. */
function refusedPaths(s: Status): string[] {
  const strict = /strict decoding error: (.*)$/.exec(s.message ?? '');
  if (strict) return [...(strict[1] ?? '').matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1] ?? '');
  // The API server adds a cause on the field `<nil>` when it skipped CEL rules because of other errors.
  return [...new Set((s.details?.causes ?? []).flatMap((c) => (c.field && c.field !== '<nil>' ? [c.field] : [])))];
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * Install the committed CRD with a raw request: env.installCrds goes through client-node's object
 * serializer, which drops x-kubernetes-validations (seen: 4 of 13 rules left); the first test checks that all of them are in.
 */
async function installCrd(): Promise<void> {
  const crd = parse(readFileSync(join(repo, 'crds/trafficpolicy.yaml'), 'utf8')) as { metadata: { name: string; resourceVersion?: string } };
  const name = crd.metadata.name;
  const created = await api('POST', CRD_PATH, crd);
  if (created.status === 409) {
    const cur = await api('GET', `${CRD_PATH}/${name}`);
    const rv = (cur.json as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    const replaced = await api('PUT', `${CRD_PATH}/${name}`, { ...crd, metadata: { ...crd.metadata, resourceVersion: rv } });
    if (replaced.status !== 200) throw new Error(`replacing the CRD: ${JSON.stringify(replaced.json)}`);
  } else if (created.status !== 201) {
    throw new Error(`creating the CRD: ${JSON.stringify(created.json)}`);
  }
  // Polling is the only way to learn that a CRD is Established (as in envtest.installCrds).
  for (const deadline = Date.now() + 30_000; ;) {
    const cur = await api('GET', `${CRD_PATH}/${name}`);
    const conds = (cur.json as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not Established: ${JSON.stringify(conds)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('TrafficPolicy in the API server', () => {
  beforeAll(async () => {
    env = await sharedEnvtest();
    const kc = parse(env.adminKubeconfig) as { users: { user: { token: string } }[] };
    token = kc.users[0]?.user.token ?? '';
    await installCrd();
  });

  it('keeps the CEL rules and list types of the committed CRD', async () => {
    const { json } = await api('GET', `${CRD_PATH}/trafficpolicies.trellis.dev`);
    const text = JSON.stringify(json);
    const committed = readFileSync(join(repo, 'crds/trafficpolicy.yaml'), 'utf8');
    expect(text.split('"x-kubernetes-validations"').length - 1).toBe(committed.split('x-kubernetes-validations:').length - 1);
    expect(text).toContain('"x-kubernetes-list-map-keys"');
  });

  it.each(examples)('accepts the example %s', async (_file, doc) => {
    const ns = await env.namespace('tp-example');
    const r = await create(ns, doc);
    expect(r.json.message, JSON.stringify(r.json)).toBeUndefined();
    expect(r.status).toBe(201);
    expect((r.json as { spec: unknown }).spec).toEqual(doc.spec);
  });

  it.each(invalid)('refuses %s at the same field path as zod', async (_what, doc, path) => {
    const z = trafficPolicySchema.safeParse(doc);
    const zodPaths = z.success ? [] : z.error.issues.map((i) => fieldPath(i.path) + (i.code === 'unrecognized_keys' ? `.${i.keys.join(',')}` : ''));
    const ns = await env.namespace('tp-invalid');
    const r = await create(ns, doc);
    expect(r.status, JSON.stringify(r.json)).toBeGreaterThanOrEqual(400);
    const paths = refusedPaths(r.json);
    expect(paths, JSON.stringify(r.json)).toEqual([path]);
    expect(paths).toEqual(zodPaths);
  });

  it('has a status subresource that takes Accepted and Programmed conditions', async () => {
    const ns = await env.namespace('tp-status');
    const [, doc] = examples[0] ?? [];
    if (!doc) throw new Error('no example');
    const created = await create(ns, doc);
    expect(created.status).toBe(201);
    const name = String(doc.metadata.name);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      observedGeneration: 1,
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: now, observedGeneration: 1 },
        { type: 'Programmed', status: 'False', reason: 'Pending', message: 'acked by 0/2 proxies', lastTransitionTime: now, observedGeneration: 1 },
      ],
    };
    expect(trafficPolicySchema.shape.status.safeParse(status).success).toBe(true);
    const r = await api('PUT', `/apis/trellis.dev/v1alpha1/namespaces/${ns}/trafficpolicies/${name}/status?fieldValidation=Strict`, {
      ...created.json,
      status,
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as { status: unknown }).status).toEqual(status);
    const table = await new Promise<string>((res, rej) => {
      const req = request(
        `${env.url}/apis/trellis.dev/v1alpha1/namespaces/${ns}/trafficpolicies/${name}`,
        {
          ca: env.caPem,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
        },
        (resp) => {
          let s = '';
          resp.on('data', (c: Buffer) => (s += c.toString()));
          resp.on('end', () => res(s));
        },
      );
      req.once('error', rej);
      req.end();
    });
    const t = JSON.parse(table) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Accepted', 'Programmed', 'Age']);
    expect(t.rows[0]?.cells.slice(1, 3)).toEqual(['True', 'False']);
  });
});
