/**
 * Where the mesh end-to-end tests write the mesh: a manifests directory Trellis watches, or a real
 * API server Trellis reads through its informers. The same scenarios run against both.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { startKubeSource } from '../../src/sources/kube/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';
import type { StartSource } from '../../src/sources/source.ts';
import { sharedEnvtest } from '../support/envtest.ts';
import { trellisKubeConfig } from '../sources/kube-support.ts';

export interface MeshStore {
  readonly label: string;
  readonly namespace: string;
  /** Replaces the objects of one "file" (a manifest file, or the set of objects applied under that name). */
  put(file: string, yaml: string): Promise<void>;
  /**
   * Breaks the greeter service in a way this source can be broken (a file that does not parse;
   * an object the API server admits but Trellis refuses) and says what /debug/configz must show.
   */
  breakGreeter(greeterYaml: string): Promise<RegExp[]>;
  source(logger: Logger): Promise<StartSource>;
  close(): Promise<void>;
}

export async function manifestsStore(): Promise<MeshStore> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-mesh-'));
  const put = async (file: string, text: string): Promise<void> => {
    // Atomically, as a Git checkout or an editor does.
    await writeFile(join(dir, `.${file}.tmp`), text);
    await rename(join(dir, `.${file}.tmp`), join(dir, file));
  };
  return {
    label: 'a manifests directory',
    namespace: 'default',
    put,
    async breakGreeter(greeterYaml) {
      await put('broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: [unclosed\n');
      await put('greeter.yaml', greeterYaml.replace('port: 50051', 'port: 500510'));
      return [/broken\.yaml/, /greeter\.yaml#1:\d+:\d+ Service default\/greeter: spec\.ports\[0\]\.port/];
    },
    source: async (logger) => startManifestSource(dir, logger),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function kubeStore(): Promise<MeshStore> {
  const env = await sharedEnvtest();
  const namespace = await env.namespace('mesh');
  const kc = new KubeConfig();
  kc.loadFromString(env.adminKubeconfig);
  const api = KubernetesObjectApi.makeApiClient(kc);
  const byFile = new Map<string, KubernetesObject[]>();
  const key = (o: KubernetesObject): string => `${o.apiVersion}/${o.kind}/${o.metadata?.name ?? ''}`;
  const put = async (file: string, yaml: string): Promise<void> => {
    const objects = parseAllDocuments(yaml)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => o !== null)
      .map((o) => ({ ...o, metadata: { ...o.metadata, namespace } }));
    for (const o of objects) await api.patch(o, undefined, undefined, 'trellis-e2e', true, PatchStrategy.ServerSideApply);
    const kept = new Set(objects.map(key));
    for (const old of byFile.get(file) ?? []) if (!kept.has(key(old))) await api.delete(old);
    byFile.set(file, objects);
  };
  return {
    label: 'a real API server',
    namespace,
    put,
    async breakGreeter(greeterYaml) {
      // The API server admits an EndpointSlice port of 70000; Trellis's schema does not.
      await put('greeter.yaml', greeterYaml.replace(/ports: \[\{ name: grpc, port: \d+ \}\]\nendpoints:/, 'ports: [{ name: grpc, port: 70000 }]\nendpoints:'));
      return [new RegExp(`EndpointSlice ${namespace}/greeter-alpha: ports\\[0\\]\\.port`)];
    },
    source: async (logger) => startKubeSource({ kubeConfig: await trellisKubeConfig(env, namespace), namespaces: [namespace], logger }),
    close: async () => undefined,
  };
}
