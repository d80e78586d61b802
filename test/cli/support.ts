/**
 * A real `trellis serve` (in process) on a copy of examples/mesh, xDS and debug on 127.0.0.1 port 0,
 * with three proxies from the test ADS client: a sidecar that ACKs every type, a proxyless client that
 * NACKs its clusters, and one that never answers (its node id holds a control character). Resolves
 * once client status shows the ACKs and the NACK.
 */
import { afterAll, beforeAll } from 'vitest';
import type { RunningTrellis } from '../../src/pipeline/index.ts';
import { SotwClient, type SotwResponse, type TestNode } from '../support/ads-client.ts';
import { configOf, CsdsClient } from '../support/csds-client.ts';
import { startExampleMesh } from '../support/example-mesh.ts';
import { pollFor } from '../support/poll.ts';
import { CDS, EDS, LDS, RDS } from '../support/resources.ts';

export const ACKER = 'frontend-6d9f7-a1.shop';
export const NACKER = 'app-nack.shop';
/** Never answers; its id holds an escape, which a table must not pass to the terminal. */
export const SILENT = 'silent\u001b[2J.shop';
export const NACK_MESSAGE = 'cluster rejected:\nunsupported field';

const sidecar = (id: string, pod: string): TestNode => ({
  id,
  cluster: 'frontend.shop',
  metadata: { PROXY_MODE: 'sidecar', NAMESPACE: 'shop', POD_NAME: pod, SERVICE_ACCOUNT: 'frontend' },
});
const proxyless = (id: string): TestNode => ({ id, cluster: 'app.shop', metadata: { PROXY_MODE: 'proxyless', NAMESPACE: 'shop' } });

export interface Mesh {
  readonly trellis: RunningTrellis;
  /** `--debug-address` and `--xds-address` of it. */
  readonly debug: string;
  readonly xds: string;
  /** Closes the stream of that proxy. */
  disconnect(id: string): void;
  close(): Promise<void>;
}

const TIMEOUT_MS = 20_000;

/** Names of a type the resources refer to: EDS clusters' service names, listeners' RDS route configs. */
function referenced(res: SotwResponse, pick: (body: Record<string, unknown>) => string[]): string[] {
  return [...new Set(res.resources.flatMap((r) => pick(r.body)))].sort();
}

function routeNames(body: unknown): string[] {
  if (Array.isArray(body)) return body.flatMap(routeNames);
  if (body === null || typeof body !== 'object') return [];
  const rds = (body as Record<string, unknown>).rds as Record<string, unknown> | undefined;
  const own = typeof rds?.route_config_name === 'string' ? [rds.route_config_name] : [];
  return [...own, ...Object.values(body).flatMap(routeNames)];
}

/** A sidecar that subscribes to CDS, EDS, LDS and RDS in Envoy's order and ACKs each. */
async function ackingSidecar(address: string): Promise<SotwClient> {
  const c = await SotwClient.connect(address, { node: sidecar(ACKER, 'frontend-6d9f7-a1') });
  c.subscribe(CDS);
  const cds = await c.next(CDS, TIMEOUT_MS);
  c.ack(cds);
  c.subscribe(
    EDS,
    referenced(cds, (b) => (b.type === 'EDS' ? [String(b.name)] : [])),
  );
  c.ack(await c.next(EDS, TIMEOUT_MS));
  c.subscribe(LDS);
  const lds = await c.next(LDS, TIMEOUT_MS);
  c.ack(lds);
  c.subscribe(RDS, referenced(lds, routeNames));
  c.ack(await c.next(RDS, TIMEOUT_MS));
  return c;
}

async function startMesh(): Promise<Mesh> {
  const mesh = await startExampleMesh();
  const { trellis, xds } = mesh;
  const clients: { close(): void }[] = [];
  const csds = new CsdsClient(xds);
  clients.push(csds);
  clients.push(await ackingSidecar(xds));
  const nacker = await SotwClient.connect(xds, { node: proxyless(NACKER) });
  clients.push(nacker);
  const byId = new Map<string, SotwClient>([[NACKER, nacker]]);
  nacker.subscribe(CDS);
  nacker.nack(await nacker.next(CDS, TIMEOUT_MS), NACK_MESSAGE);
  const silent = await SotwClient.connect(xds, { node: proxyless(SILENT) });
  clients.push(silent);
  byId.set(SILENT, silent);
  silent.subscribe(CDS);
  await silent.next(CDS, TIMEOUT_MS);
  await pollFor(
    'the ACKs and the NACK in client status',
    () => csds.fetch({ exclude_resource_contents: true }),
    (res) => {
      const statuses = (id: string) => configOf(res, id).map((c) => c.client_status);
      return statuses(ACKER).length > 0 && statuses(ACKER).every((s) => s === 'ACKED') && statuses(NACKER).every((s) => s === 'NACKED');
    },
    TIMEOUT_MS,
  );
  return {
    trellis,
    debug: mesh.debug,
    xds,
    disconnect: (id) => byId.get(id)?.close(),
    async close() {
      for (const c of clients) c.close();
      await mesh.close();
    },
  };
}

/** The mesh of a test file: started before its tests (vitest's beforeAll), closed after them. */
export function meshOfFile(): Omit<Mesh, 'close'> {
  let mesh: Mesh | undefined;
  beforeAll(async () => {
    mesh = await startMesh();
  }, 90_000);
  afterAll(async () => {
    await mesh?.close();
  });
  const started = (): Mesh => {
    if (!mesh) throw new Error('meshOfFile: the mesh did not start');
    return mesh;
  };
  return {
    get trellis() {
      return started().trellis;
    },
    get debug() {
      return started().debug;
    },
    get xds() {
      return started().xds;
    },
    disconnect: (id) => started().disconnect(id),
  };
}
