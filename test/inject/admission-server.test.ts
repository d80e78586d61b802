/**
 * The admission server over HTTPS: reviews answered, malformed ones refused with 400 and one log
 * line, and its certificate re-read from a Secret-style mount: a new pair serves new connections while
 * an open one goes on; a bad pair is an error in the log and the last good pair keeps serving.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/inject/index.ts';
import { startAdmissionServer, type AdmissionServer } from '../../src/inject/server.ts';
import { Logs } from '../support/logs.ts';
import { makeCa, mountSecret, post, type Pair } from './admission-support.ts';

const REVIEW = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '7f0c9a52-0d1e-4f7b-9a55-3c2b1d0e4f66',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace: 'shop',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cart' }, spec: { containers: [{ name: 'cart', image: 'cart:1' }] } },
  },
};

let dir: string;
let certDir: string;
let ca: Awaited<ReturnType<typeof makeCa>>;
let first: Pair;
let server: AdmissionServer;
const logs = new Logs();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-admission-'));
  certDir = join(dir, 'certs');
  ca = await makeCa(dir);
  first = await ca.issue();
  await mountSecret(certDir, { 'tls.crt': first.cert, 'tls.key': first.key });
  server = await startAdmissionServer({
    host: '127.0.0.1',
    port: 0,
    certDir,
    settings: DEFAULT_SETTINGS,
    logger: pino({ level: 'info' }, { write: logs.write }),
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the admission server', () => {
  it('answers a review with the response, uid echoed and a patch', async () => {
    const answer = await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW));
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as { response: { uid: string; allowed: boolean; patchType: string; patch: string } };
    expect(body).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: REVIEW.request.uid, allowed: true, patchType: 'JSONPatch' },
    });
    expect(Buffer.from(body.response.patch, 'base64').toString()).toContain('trellis-proxy');
  });

  it.each([
    ['not JSON', '{"apiVersion": ', 'the body is not JSON'],
    ['a v1beta1 review', JSON.stringify({ ...REVIEW, apiVersion: 'admission.k8s.io/v1beta1' }), 'expected apiVersion admission.k8s.io/v1'],
    ['another kind', JSON.stringify({ ...REVIEW, kind: 'Pod' }), 'kind AdmissionReview'],
    ['no request.uid', JSON.stringify({ ...REVIEW, request: { ...REVIEW.request, uid: undefined } }), 'the review has no request.uid'],
  ])('answers %s with 400, one line, and logs one line', async (_name, body, message) => {
    const before = logs.count(40, /^malformed admission review/);
    const answer = await post(`${server.url}/inject`, ca.caPem, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain(message);
    expect(answer.body.trimEnd()).not.toContain('\n');
    expect(logs.count(40, /^malformed admission review/)).toBe(before + 1);
    expect(logs.lines.at(-1)?.msg).toContain(message);
  });

  it('answers other paths 404 and other methods 405', async () => {
    expect((await post(`${server.url}/mutate`, ca.caPem, '{}')).status).toBe(404);
    expect((await post(`${server.url}/inject`, ca.caPem, '', { method: 'GET' })).status).toBe(405);
  });

  it('a rotated pair serves new connections; a connection open before it goes on; a bad pair keeps the last good one', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const open = await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW), { agent });
      expect(open.serial).toBe(first.serial);

      const second = await ca.issue();
      const changed = logs.count(30, /^webhook certificate changed/);
      await mountSecret(certDir, { 'tls.crt': second.cert, 'tls.key': second.key });
      await logs.until('the new pair taken up', () => logs.count(30, /^webhook certificate changed/) > changed);
      const fresh = await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW));
      expect(fresh).toMatchObject({ status: 200, serial: second.serial });
      const again = await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW), { agent });
      expect(again).toMatchObject({ status: 200, serial: first.serial, reusedSocket: true });

      const third = await ca.issue();
      await mountSecret(certDir, { 'tls.crt': third.cert, 'tls.key': second.key });
      await logs.until('the bad pair refused', () => logs.lines.some((l) => l.level === 50 && l.msg.includes('tls.key is not the key of tls.crt')));
      expect(server.certificateError).toBe('tls.key is not the key of tls.crt');
      expect((await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW))).serial).toBe(second.serial);

      await mountSecret(certDir, { 'tls.crt': third.cert, 'tls.key': third.key });
      await logs.until('the good pair back', () => server.certificateError === undefined && logs.count(30, /^webhook certificate changed/) > changed + 1);
      expect((await post(`${server.url}/inject`, ca.caPem, JSON.stringify(REVIEW))).serial).toBe(third.serial);
    } finally {
      agent.destroy();
    }
  });

  it('does not start without a valid pair, naming the directory', async () => {
    const empty = join(dir, 'empty');
    await mountSecret(empty, { 'tls.crt': 'not a certificate', 'tls.key': 'not a key' });
    await expect(
      startAdmissionServer({ host: '127.0.0.1', port: 0, certDir: empty, settings: DEFAULT_SETTINGS, logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow(`the webhook certificate in ${empty} does not load`);
  });
});
