/**
 * Files of a mounted volume (a ConfigMap or Secret, or any directory): Kubernetes updates such a
 * volume by swapping its `..data` symlink, so the directory is watched, not the files.
 */
import { watch, type FSWatcher } from 'node:fs';

/** Calls `changed` when one of `names` in `dir`, or the volume as a whole, may have changed; `failed` once the watch breaks. */
export function watchMounted(dir: string, names: readonly string[], changed: () => void, failed: (err: Error) => void): FSWatcher {
  const watcher = watch(dir, { persistent: false }, (_event, name) => {
    if (name === null || name === '..data' || names.includes(name)) changed();
  });
  watcher.on('error', failed);
  return watcher;
}
