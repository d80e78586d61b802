/** `trellis inject -f FILE|-` as people run it: a multi-document file, standard input, the flags, and errors. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trellis, trellisWithInput } from '../support/cli.ts';
import { schemaErrors } from './support.ts';

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop } # a comment kept as it is
spec: { selector: { app: cart }, ports: [{ port: 80, targetPort: 8080 }] }
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: cart, namespace: shop }
spec:
  selector: { matchLabels: { app: cart } }
  template:
    metadata: { labels: { app: cart } }
    spec:
      containers:
        - name: cart
          image: ghcr.io/example/cart:1.4.2
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /ready, port: http } }
`;
const OPTED_OUT = `apiVersion: v1
kind: Pod
metadata: { name: debug, namespace: shop, labels: { trellis.dev/inject: "false" } }
spec: { containers: [{ name: shell, image: "busybox:1.37" }] }
`;
const CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata: { name: report, namespace: batch }
spec:
  schedule: "0 3 * * *"
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, containers: [{ name: report, image: "ghcr.io/example/report:2.0.0" }] } } } }
`;
const POD = `apiVersion: v1
kind: Pod
metadata: { name: cart, namespace: shop }
spec: { containers: [{ name: cart, image: "ghcr.io/example/cart:1.4.2" }] }
`;

type Obj = { kind: string; spec: Record<string, unknown> & { template?: { spec: PodSpec } } };
type PodSpec = {
  initContainers?: { name: string; image: string; args?: string[] }[];
  containers: { name: string; image: string }[];
  volumes?: { name: string }[];
};

function documents(stdout: string): Obj[] {
  return parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
}

async function withFile<T>(content: string, run: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-inject-'));
  try {
    const path = join(dir, 'app.yaml');
    await writeFile(path, content);
    return await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('trellis inject', () => {
  it('injects the pods of a multi-document file, passes other kinds through (their comments kept), and says which pods it left alone', async () => {
    const r = await withFile([SERVICE, DEPLOYMENT, OPTED_OUT, CRONJOB].join('---\n'), (path) => trellis('inject', '-f', path));
    expect(r.stderr).toMatch(/app\.yaml: document 3 \(Pod shop\/debug\): not injected, because the pod opts out/);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n---\n')[0]).toContain('# a comment kept as it is');
    const docs = documents(r.stdout);
    expect(docs[0]).toEqual(parse(SERVICE));
    expect(docs.map((d) => d.kind)).toEqual(['Service', 'Deployment', 'Pod', 'CronJob']);
    const deployment = docs[1]?.spec.template?.spec;
    expect(deployment?.initContainers?.map((c) => c.name)).toEqual(['trellis-capture', 'trellis-proxy']);
    expect(docs[2]?.spec.initContainers).toBeUndefined();
    expect(JSON.stringify(docs[3])).toContain('"name":"trellis-proxy"');
    for (const d of docs) expect(schemaErrors(d)).toEqual([]);
  });

  it('reads standard input with -f -, with the images, the xDS address, legacy sidecars and authenticated xDS from its flags', async () => {
    const r = await trellisWithInput(
      POD,
      'inject',
      '-f',
      '-',
      '--native-sidecar',
      'false',
      '--image',
      'envoyproxy/envoy:v1.33.2',
      '--trellis-image',
      'registry.example/trellis:9.9.9',
      '--xds-address',
      'trellis.mesh.svc:15012',
      '--secure',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [pod] = documents(r.stdout) as unknown as { spec: PodSpec }[];
    expect(pod?.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['trellis-proxy', 'envoyproxy/envoy:v1.33.2'],
      ['cart', 'ghcr.io/example/cart:1.4.2'],
    ]);
    expect(pod?.spec.initContainers?.map((c) => [c.name, c.image])).toEqual([['trellis-capture', 'registry.example/trellis:9.9.9']]);
    expect(pod?.spec.volumes?.map((v) => v.name)).toEqual(['trellis-token', 'trellis-ca-root-cert']);
    expect(JSON.stringify(pod)).toContain('target_uri: trellis.mesh.svc:15012');
    expect(schemaErrors(pod)).toEqual([]);
  });

  it('refuses a file with a bad annotation, naming the file, the document, the object and the annotation, and prints nothing else', async () => {
    const bad = POD.replace('namespace: shop }', 'namespace: shop, annotations: { trellis.dev/exclude-outbound-ports: "443,https" } }');
    const r = await withFile([SERVICE, bad].join('---\n'), (path) => trellis('inject', '-f', path));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /app\.yaml: document 2 \(Pod shop\/cart\): annotation trellis\.dev\/exclude-outbound-ports: "443,https" is not allowed: expected comma-separated ports 1-65535/,
    );
  });

  it.each([
    [['inject'], 'trellis inject: --file: give the file to inject: -f FILE, or -f - for standard input'],
    [['inject', '-f', '-', '--native-sidecar', 'maybe'], 'trellis inject: --native-sidecar: expected true or false'],
    [['inject', '-f', '-', '--xds-address', 'nowhere'], 'trellis inject: --xds-address: expected HOST:PORT'],
  ])('answers %j with one clear line and exit status 2', async (args, message) => {
    const r = await trellis(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
  });
});
