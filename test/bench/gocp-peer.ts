/**
 * go-control-plane's peer server for the bench: where the gocp-ads binary is ($TRELLIS_GO_CONTROL_PLANE, by
 * default <repo>/../shared/go-control-plane; see its README), and a process's RSS and CPU time read from
 * outside it, from /proc (the Go process is not Node: nothing in it answers the bench's questions).
 */
import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The two go-control-plane caches gocp-ads serves from (its `--cache`). */
export type GocpCache = 'linear' | 'snapshot';

/** The gocp-ads executable; a clear one-line error when it is missing. */
export function gocpBinary(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TRELLIS_GO_CONTROL_PLANE ?? resolve(here, '../../../shared/go-control-plane');
  const bin = join(dir, 'gocp-ads');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `go-control-plane: no executable ${bin}. Set TRELLIS_GO_CONTROL_PLANE to the directory holding gocp-ads (shared/go-control-plane beside the repo), or leave gocp-* out of --impls.`,
    );
  }
  return bin;
}
