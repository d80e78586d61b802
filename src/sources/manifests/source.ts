/**
 * The manifests directory as a pipeline Source.
 */
import type { Logger } from 'pino';
import { diagnostic, type Diagnostic } from '../../diagnostics.js';
import type { SourceState, StartSource } from '../source.js';
import { skippedSummary } from './errors.js';
import { locateProblems } from './locate.js';
import type { ManifestFile, ManifestResult } from './parse.js';
import { watchManifests, type WatchStatus } from './watch.js';

/** The problems of one manifests read, in the common shape; the kinds it skipped in one warning. */
export function manifestProblems(result: ManifestResult): Diagnostic[] {
  const skipped = skippedSummary(result.skipped);
  return [...result.errors, ...result.warnings, ...(skipped === undefined ? [] : [diagnostic('warning', undefined, undefined, skipped)])];
}

function stateOf(result: ManifestResult, files: readonly ManifestFile[], status: WatchStatus = { connected: true }): SourceState {
  return {
    inputs: result.inputs,
    problems: manifestProblems(result),
    connected: status.connected,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    locate: (list) => locateProblems(list, files),
  };
}

export function startManifestSource(dir: string, logger: Logger, opts: { maxFileBytes?: number; settleMs?: number } = {}): StartSource {
  return async (onChange, hooks) => {
    let latest: SourceState | undefined;
    const watch = await watchManifests(dir, {
      logger,
      ...opts,
      onChange: (result, files, status) => {
        latest = stateOf(result, files, status);
        onChange(latest);
      },
    });
    if (hooks?.signal?.aborted) {
      watch.close();
      hooks.signal.throwIfAborted();
    }
    // A change read while the start was finishing is newer than the first result.
    const first = latest ?? stateOf(watch.result, watch.files);
    return { current: () => latest ?? first, close: () => watch.close() };
  };
}
