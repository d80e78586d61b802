/**
 * The manifests directory as a pipeline Source.
 */
import type { Logger } from 'pino';
import type { Diagnostic } from '../../diagnostics.js';
import type { SourceState, StartSource } from '../source.js';
import type { ManifestResult } from './parse.js';
import { watchManifests } from './watch.js';

/** The problems of one manifests read, in the common shape. */
export function manifestProblems(result: ManifestResult): Diagnostic[] {
  return [...result.errors, ...result.warnings];
}

function stateOf(result: ManifestResult): SourceState {
  return { inputs: result.inputs, problems: manifestProblems(result), connected: true };
}

export function startManifestSource(dir: string, logger: Logger): StartSource {
  return async (onChange, hooks) => {
    let latest: SourceState | undefined;
    const watch = await watchManifests(dir, {
      logger,
      onChange: (result) => {
        latest = stateOf(result);
        onChange(latest);
      },
    });
    if (hooks?.signal?.aborted) {
      watch.close();
      hooks.signal.throwIfAborted();
    }
    // A change read while the start was finishing is newer than the first result.
    const first = latest ?? stateOf(watch.result);
    return { current: () => latest ?? first, close: () => watch.close() };
  };
}
