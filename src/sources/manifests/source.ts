/**
 * The manifests directory as a pipeline Source.
 */
import type { Logger } from 'pino';
import type { Problem } from '../../model/problems.js';
import type { SourceState, StartSource } from '../source.js';
import { skippedSummary } from './errors.js';
import type { ManifestResult } from './parse.js';
import { watchManifests } from './watch.js';

/** The problems of one manifests read, in the common shape; the kinds it skipped in one warning. */
export function manifestProblems(result: ManifestResult): Problem[] {
  const skipped = skippedSummary(result.skipped);
  return [
    ...result.errors.map((e) => ({ severity: 'error' as const, ...e })),
    ...result.warnings.map((e) => ({ severity: 'warning' as const, ...e })),
    ...(skipped === undefined ? [] : [{ severity: 'warning' as const, message: skipped }]),
  ];
}

function stateOf(result: ManifestResult): SourceState {
  return { inputs: result.inputs, problems: manifestProblems(result), connected: true };
}

export function startManifestSource(dir: string, logger: Logger): StartSource {
  return async (onChange) => {
    let latest: SourceState | undefined;
    const watch = await watchManifests(dir, {
      logger,
      onChange: (result) => {
        latest = stateOf(result);
        onChange(latest);
      },
    });
    // A change read while the start was finishing is newer than the first result.
    const first = latest ?? stateOf(watch.result);
    return { current: () => latest ?? first, close: () => watch.close() };
  };
}
