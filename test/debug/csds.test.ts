/**
 * Client status (CSDS) served by a running Trellis on its xDS port, read by a CSDS client generated
 * from Envoy's proto: proxies that ACK, NACK and never answer, a name that does not exist, node
 * matchers, exclude_resource_contents and StreamClientStatus.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/config.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import { DeltaClient, SotwClient, type TestNode } from '../support/ads-client.ts';
import { configOf, CsdsClient, decoded, nodesOf, type ClientStatusRequest, type ClientStatusResponse, type GenericXdsConfig } from '../support/csds-client.ts';
import { pollFor } from '../support/poll.ts';
import { CDS, EDS } from '../support/resources.ts';

const MESH = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.10, ports: [{ name: grpc, port: 50051 }] }
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { clusterIP: 10.96.0.11, ports: [{ name: grpc, port: 5432 }] }
`;

const CLUSTERS = ['outbound|50051||web.shop.svc.cluster.local', 'outbound|5432||db.shop.svc.cluster.local'].sort();
const MISSING = 'outbound|80||nope.shop.svc.cluster.local';
const NACK_MESSAGE = 'cluster outbound|5432||db.shop.svc.cluster.local: unsupported\nsecond line';

const node = (id: string): TestNode => ({ id, cluster: 'app.shop', metadata: { PROXY_MODE: 'proxyless', NAMESPACE: 'shop' } });

let dir: string;
let trellis: RunningTrellis;
let csds: CsdsClient;
const clients: { close(): void }[] = [];
/** What the ACKing delta client was sent: resource name → version. */
const sentVersions = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-csds-'));
  await writeFile(join(dir, 'mesh.yaml'), MESH);
  const logger = createLogger('fatal');
  const config = loadServeConfig({ manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0' }, {});
  trellis = await serve(config, logger, startManifestSource(dir, logger));
  const address = `127.0.0.1:${trellis.xdsPort}`;
  csds = new CsdsClient(address);

  // ACKs (delta: each resource carries its version).
  // A name holding a slash: CSDS gives name and version back as sent.
  const acker = await DeltaClient.connect(address, { node: { ...node('app-ack.shop'), user_agent_name: 'grpc-node-js/xds', user_agent_version: '1.14.0' } });
  clients.push(acker);
  acker.subscribe(CDS, ['*']);
  const cds = await acker.next(CDS, 15_000);
  for (const r of cds.resources) sentVersions.set(r.name, r.version ?? '');
  acker.ack(cds);

  // NACKs everything it is sent.
  const nacker = await SotwClient.connect(address, { node: node('app-nack.shop') });
  clients.push(nacker);
  nacker.subscribe(CDS);
  nacker.nack(await nacker.next(CDS, 15_000), NACK_MESSAGE);

  // Never answers; also asks for a name Trellis does not have.
  const silent = await SotwClient.connect(address, { node: node('app-silent.shop') });
  clients.push(silent);
  silent.subscribe(CDS);
  silent.subscribe(EDS, [MISSING]);
  await silent.next(CDS, 15_000);

  // The ACK and the NACK have reached the server once CSDS says so.
  await pollFor(
    'the ACK and the NACK in CSDS',
    () => csds.fetch({ exclude_resource_contents: true }),
    (res) => {
      const statuses = (id: string) => configOf(res, id).map((c) => c.client_status);
      return statuses('app-ack.shop').every((s) => s === 'ACKED') && statuses('app-nack.shop').every((s) => s === 'NACKED');
    },
  );
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  csds?.close();
  await trellis?.close();
  await rm(dir, { recursive: true, force: true });
});

const byName = (configs: GenericXdsConfig[], typeUrl: string) =>
  configs.filter((c) => c.type_url === typeUrl).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

describe('FetchClientStatus', () => {
  it('answers one ClientConfig per connected proxy, with its node, in node id order', async () => {
    const res = await csds.fetch();
    expect(nodesOf(res)).toEqual(['app-ack.shop', 'app-nack.shop', 'app-silent.shop']);
    const ack = res.config?.[0]?.node;
    expect(ack?.cluster).toBe('app.shop');
    expect([ack?.user_agent_name, ack?.user_agent_version]).toEqual(['grpc-node-js/xds', '1.14.0']);
    expect(ack?.metadata).toEqual({
      fields: { NAMESPACE: { kind: 'stringValue', stringValue: 'shop' }, PROXY_MODE: { kind: 'stringValue', stringValue: 'proxyless' } },
    });
  });

  it('shows an ACKing proxy ACKED, with the versions it was sent, its resources and when it acked', async () => {
    const before = Date.now();
    const configs = byName(configOf(await csds.fetch(), 'app-ack.shop'), CDS);
    expect(configs.map((c) => [c.name, c.client_status, c.config_status, c.version_info])).toEqual(
      CLUSTERS.map((name) => [name, 'ACKED', 'SYNCED', sentVersions.get(name)]),
    );
    for (const c of configs) {
      expect(decoded(c.xds_config)?.name).toBe(c.name);
      expect(c.xds_config?.type_url).toBe(CDS);
      expect(Number(c.last_updated?.seconds) * 1000).toBeLessThanOrEqual(before);
      expect(Number(c.last_updated?.seconds) * 1000).toBeGreaterThan(before - 120_000);
      expect(c.error_state).toBeUndefined();
    }
  });

  it("shows a NACKing proxy NACKED, with the proxy's message, the rejected version and when", async () => {
    const configs = byName(configOf(await csds.fetch(), 'app-nack.shop'), CDS);
    expect(configs.map((c) => [c.name, c.client_status, c.config_status, c.version_info ?? ''])).toEqual(CLUSTERS.map((name) => [name, 'NACKED', 'ERROR', '']));
    for (const c of configs) {
      // The same class as the ACKing proxy: the same resources, so the same versions were rejected.
      expect(c.error_state?.details).toBe(NACK_MESSAGE);
      expect(c.error_state?.version_info).toBe(sentVersions.get(c.name));
      expect(Number(c.error_state?.last_update_attempt?.seconds)).toBeGreaterThan(0);
      expect(decoded(c.error_state?.failed_configuration)?.name).toBe(c.name);
      expect(c.xds_config).toBeUndefined();
    }
  });

  it('shows a proxy that never answers REQUESTED, and a name Trellis does not have DOES_NOT_EXIST', async () => {
    const configs = configOf(await csds.fetch(), 'app-silent.shop');
    expect(byName(configs, CDS).map((c) => [c.name, c.client_status, c.config_status, c.version_info ?? '', c.xds_config])).toEqual(
      CLUSTERS.map((name) => [name, 'REQUESTED', 'STALE', '', undefined]),
    );
    expect(byName(configs, EDS).map((c) => [c.name, c.client_status])).toEqual([[MISSING, 'DOES_NOT_EXIST']]);
  });

  it('omits resource contents with exclude_resource_contents', async () => {
    const res = await csds.fetch({ exclude_resource_contents: true });
    const all = (res.config ?? []).flatMap((c) => c.generic_xds_configs ?? []);
    expect(all.length).toBe(3 * CLUSTERS.length + 1);
    expect(all.filter((c) => c.xds_config !== undefined || c.error_state?.failed_configuration !== undefined)).toEqual([]);
    expect(all.filter((c) => c.client_status === 'NACKED').every((c) => c.error_state?.details === NACK_MESSAGE)).toBe(true);
  });
});

describe('node matchers', () => {
  it.each<[string, ClientStatusRequest['node_matchers'], string[]]>([
    ['exact', [{ node_id: { exact: 'app-nack.shop' } }], ['app-nack.shop']],
    ['prefix', [{ node_id: { prefix: 'app-s' } }], ['app-silent.shop']],
    ['suffix', [{ node_id: { suffix: 'ck.shop' } }], ['app-ack.shop', 'app-nack.shop']],
    ['contains', [{ node_id: { contains: 'silent' } }], ['app-silent.shop']],
    ['safe_regex (whole id)', [{ node_id: { safe_regex: { regex: 'app-(ack|silent)\\.shop' } } }], ['app-ack.shop', 'app-silent.shop']],
    ['safe_regex matching part of the id only', [{ node_id: { safe_regex: { regex: 'app' } } }], []],
    ['exact, ignoring case', [{ node_id: { exact: 'APP-ACK.SHOP', ignore_case: true } }], ['app-ack.shop']],
    ['exact, case sensitive', [{ node_id: { exact: 'APP-ACK.SHOP' } }], []],
    ['two matchers: either', [{ node_id: { exact: 'app-ack.shop' } }, { node_id: { prefix: 'app-n' } }], ['app-ack.shop', 'app-nack.shop']],
    ['a matcher without node_id', [{}], ['app-ack.shop', 'app-nack.shop', 'app-silent.shop']],
  ])('%s', async (_name, matchers, expected) => {
    expect(nodesOf(await csds.fetch({ node_matchers: matchers, exclude_resource_contents: true }))).toEqual(expected);
  });

  it.each<[string, ClientStatusRequest['node_matchers'], string]>([
    [
      'node_metadatas',
      [{ node_id: { exact: 'x' } }, { node_metadatas: [{ path: [{ key: 'NAMESPACE' }], value: { string_match: { exact: 'shop' } } }] }],
      'node_matchers[1].node_metadatas: is not supported by Trellis (node_id is)',
    ],
    [
      'a custom matcher',
      [{ node_id: { custom: { name: 'x', typed_config: { type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) } } } }],
      'node_matchers[0].node_id.custom: is not supported by Trellis (exact, prefix, suffix, contains and safe_regex are)',
    ],
    ['no pattern', [{ node_id: { ignore_case: true } }], 'node_matchers[0].node_id: sets no match pattern'],
    ['a regex RE2 refuses', [{ node_id: { safe_regex: { regex: '(?=app)' } } }], 'node_matchers[0].node_id.safe_regex.regex: not a valid RE2 expression'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_name, matchers, message) => {
    const err = (await csds.fetch({ node_matchers: matchers }).then(
      () => undefined,
      (e: unknown) => e,
    )) as ServiceError | undefined;
    expect(err?.code).toBe(Status.INVALID_ARGUMENT);
    expect(err?.details).toContain(message);
  });
});

describe('StreamClientStatus', () => {
  it('answers each request on the stream as it arrives', async () => {
    const call = csds.stream();
    const responses: ClientStatusResponse[] = [];
    const next = () => new Promise<ClientStatusResponse>((resolve) => call.once('data', resolve));
    call.write({ node_matchers: [{ node_id: { exact: 'app-ack.shop' } }], exclude_resource_contents: true });
    responses.push(await next());
    call.write({ node_matchers: [{ node_id: { prefix: 'app-' } }], exclude_resource_contents: true });
    responses.push(await next());
    call.end();
    await once(call, 'status');
    expect(responses.map(nodesOf)).toEqual([['app-ack.shop'], ['app-ack.shop', 'app-nack.shop', 'app-silent.shop']]);
  });

  it('ends the stream INVALID_ARGUMENT at a request it cannot answer', async () => {
    const call = csds.stream();
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    call.write({ node_matchers: [{ node_metadatas: [{}] }] });
    const err = await ended;
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toContain('node_matchers[0].node_metadatas');
  });
});
