import { describe, expect, it } from 'vitest';
import { buildSyncz, type SynczResponse } from '../../src/debug/syncz.js';
import { fakeIntrospection, NACK, proxy, startServer, typeStatus, V1, V2 } from './support.js';

async function getJson(base: string): Promise<SynczResponse> {
  const res = await fetch(`${base}/debug/syncz`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as SynczResponse;
}

async function getText(base: string): Promise<string[]> {
  const res = await fetch(`${base}/debug/syncz?format=text`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return (await res.text()).trimEnd().split('\n');
}

describe('/debug/syncz JSON', () => {
  it('lists the proxies sorted by id, each with its worst state', async () => {
    const { base } = await startServer();
    const body = await getJson(base);
    expect(body.proxies.map((p) => [p.proxyId, p.state])).toEqual([
      ['api-0.default', 'SYNCED'],
      ['grpc-0.default', 'SYNCED'],
      ['web-0.default', 'ERROR'],
    ]);
    expect(body.summary).toEqual({ proxies: 3, synced: 2, stale: 0, notSent: 0, errors: 1 });
  });

  it('gives every type its short name, status and versions, in CDS..SDS order', async () => {
    const { base } = await startServer();
    const web = (await getJson(base)).proxies[2];
    expect(web?.types.map((t) => [t.type, t.state, t.versionSent, t.versionAcked])).toEqual([
      ['CDS', 'SYNCED', V1, V1],
      ['EDS', 'SYNCED', V1, V1],
      ['LDS', 'STALE', V2, V1],
      ['RDS', 'ERROR', V2, V1],
      ['SDS', 'NOT SENT', '', ''],
    ]);
  });

  it('carries the NACK on the ERROR type', async () => {
    const { base } = await startServer();
    const rds = (await getJson(base)).proxies[2]?.types.find((t) => t.type === 'RDS');
    expect(rds?.lastError).toEqual(NACK);
  });

  it('answers an empty list when no proxy is connected', async () => {
    const { base } = await startServer(fakeIntrospection({ proxies: [], held: new Map() }));
    expect(await getJson(base)).toEqual({
      summary: { proxies: 0, synced: 0, stale: 0, notSent: 0, errors: 0 },
      proxies: [],
    });
  });
});

describe('/debug/syncz?format=text', () => {
  it('starts with the summary line, then the column headers', async () => {
    const { base } = await startServer();
    const [summary, blank, header] = await getText(base);
    expect(summary).toBe('3 proxies, 2 synced, 0 stale, 0 not sent, 1 error');
    expect(blank).toBe('');
    expect(header?.split(/\s+/)).toEqual(['PROXY', 'CLASS', 'PROTO', 'TYPE', 'STATUS', 'SENT', 'ACKED', 'ERROR']);
  });

  it('has one line per proxy per type (one for a proxy without types), sorted', async () => {
    const { base } = await startServer();
    const rows = (await getText(base)).slice(3).map((l) => l.split(/\s{2,}/).slice(0, 4));
    expect(rows).toEqual([
      ['api-0.default', 'sidecar', 'sotw', 'CDS'],
      ['api-0.default', 'sidecar', 'sotw', 'LDS'],
      ['grpc-0.default', 'grpc-client', 'delta', '-'],
      ['web-0.default', 'sidecar', 'sotw', 'CDS'],
      ['web-0.default', 'sidecar', 'sotw', 'EDS'],
      ['web-0.default', 'sidecar', 'sotw', 'LDS'],
      ['web-0.default', 'sidecar', 'sotw', 'RDS'],
      ['web-0.default', 'sidecar', 'sotw', 'SDS'],
    ]);
  });

  it('aligns the columns', async () => {
    const { base } = await startServer();
    const lines = (await getText(base)).slice(2);
    const header = lines[0] ?? '';
    for (const column of ['CLASS', 'TYPE', 'STATUS', 'SENT', 'ACKED']) {
      const at = header.indexOf(column);
      for (const line of lines.slice(1)) expect(line[at - 1], `${column} in ${line}`).toBe(' ');
      for (const line of lines.slice(1)) expect(line[at], `${column} in ${line}`).not.toBe(' ');
    }
  });

  it('shortens versions to 12 characters and shows the NACK message on one line', async () => {
    const { base } = await startServer();
    const rds = (await getText(base)).find((l) => l.includes(' RDS '));
    expect(rds?.split(/\s{2,}/).slice(4)).toEqual([
      'ERROR',
      V2.slice(0, 12),
      V1.slice(0, 12),
      'Error adding/updating route config web: duplicate virtual host "web"',
    ]);
  });

  it('shows the states of the other types, with - for versions never sent', async () => {
    const { base } = await startServer();
    const web = (await getText(base)).filter((l) => l.startsWith('web-0.default'));
    expect(web.map((l) => l.split(/\s{2,}/).slice(3, 7))).toEqual([
      ['CDS', 'SYNCED', V1.slice(0, 12), V1.slice(0, 12)],
      ['EDS', 'SYNCED', V1.slice(0, 12), V1.slice(0, 12)],
      ['LDS', 'STALE', V2.slice(0, 12), V1.slice(0, 12)],
      ['RDS', 'ERROR', V2.slice(0, 12), V1.slice(0, 12)],
      ['SDS', 'NOT SENT', '-', '-'],
    ]);
  });

  it('says so when no proxy is connected', async () => {
    const { base } = await startServer(fakeIntrospection({ proxies: [], held: new Map() }));
    expect(await getText(base)).toEqual(['0 proxies, 0 synced, 0 stale, 0 not sent, 0 errors', '', '(no proxies connected)']);
  });
});

describe('buildSyncz summary', () => {
  it.each([
    ['all synced', ['SYNCED', 'SYNCED'], 'SYNCED'],
    ['one stale', ['SYNCED', 'STALE'], 'STALE'],
    ['not sent', ['SYNCED', 'NOT SENT'], 'NOT SENT'],
    ['stale beats not sent', ['NOT SENT', 'STALE'], 'STALE'],
    ['error beats all', ['STALE', 'ERROR', 'NOT SENT'], 'ERROR'],
  ] as const)('classifies a proxy by its worst type: %s', (_name, states, expected) => {
    const kinds = ['cluster', 'endpoint', 'listener'] as const;
    const types = states.map((s, i) => typeStatus(kinds[i] ?? 'route', s, V1, V1));
    const view = buildSyncz([proxy('p', 1, 'sotw', types)]);
    expect(view.proxies[0]?.state).toBe(expected);
    const key = { SYNCED: 'synced', STALE: 'stale', 'NOT SENT': 'notSent', ERROR: 'errors' } as const;
    expect(view.summary[key[expected]]).toBe(1);
    expect(Object.values(view.summary).reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });
});
