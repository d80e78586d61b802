/**
 * Trellis in process on a copy of examples/mesh (the README's quick start), xDS and the debug endpoint on
 * 127.0.0.1 port 0: what the CLI and debug UI tests run against.
 */
import { cpSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadServeConfig } from '../../src/config/config.ts';
import { createLogger, serve, type RunningTrellis } from '../../src/pipeline/index.ts';
import { startManifestSource } from '../../src/sources/manifests/index.ts';

export interface ExampleMesh {
  readonly trellis: RunningTrellis;
  /** host:port of the debug endpoint and of the (plaintext) xDS port. */
  readonly debug: string;
  readonly xds: string;
  /** Stops Trellis and removes the copy. */
  close(): Promise<void>;
}

/** Starts Trellis on a copy of examples/mesh with `extraFiles` (path in the copy → text) added. */
export async function startExampleMesh(extraFiles: Readonly<Record<string, string>> = {}): Promise<ExampleMesh> {
  const root = await mkdtemp(join(tmpdir(), 'trellis-example-mesh-'));
  const dir = join(root, 'mesh');
  cpSync(join(import.meta.dirname, '../../examples/mesh'), dir, { recursive: true });
  for (const [path, text] of Object.entries(extraFiles)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const logger = createLogger('fatal');
  const config = loadServeConfig({ manifests: dir, 'xds-address': '127.0.0.1:0', 'debug-address': '127.0.0.1:0' }, {});
  const trellis = await serve(config, logger, startManifestSource(dir, logger));
  return {
    trellis,
    debug: `127.0.0.1:${trellis.debugPort}`,
    xds: `127.0.0.1:${trellis.xdsPort}`,
    async close() {
      await trellis.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
