/**
 * What every source gives the pipeline: one consistent MeshInputs value at a time, the problems it
 * found reading it, and whether it is in step with where it reads from. Nothing downstream knows
 * whether the inputs came from a directory of manifests or from a live cluster.
 */
import type { MeshInputs } from '../model/inputs.js';
import type { Diagnostic } from '../diagnostics.js';

export interface SourceState {
  readonly inputs: MeshInputs;
  /** Problems found reading the inputs (parse and validation errors, skipped kinds). */
  readonly problems: readonly Diagnostic[];
  /**
   * False while the source serves what it last knew because it cannot reach where it reads from
   * (the API server is gone); the reason says why. Always true for a directory.
   */
  readonly connected: boolean;
  readonly reason?: string;
  /**
   * Places problems found later (the model's, about an object of these inputs) at their line and
   * column, where the source has the text (a manifests directory); absent where it has none.
   */
  locate?(problems: readonly Diagnostic[]): Diagnostic[];
}

export interface Source {
  /** The state now. A source resolves its start only once it has synced, so this is never empty by accident. */
  current(): SourceState;
  close(): void;
}

/** What a start may be told besides each new state. */
export interface StartHooks {
  /**
   * Until the first state is there, a source that may wait long (a cluster it cannot reach) says
   * what it waits for, each time that changes: `waiting for the first list of Services: connect ECONNREFUSED …`.
   */
  waiting?(reason: string): void;
  /** Aborting gives the start up: what the source started is closed, and the start rejects. */
  readonly signal?: AbortSignal;
}

/** Starts a source: resolves once the first complete state is there; then calls onChange with each new one. */
export type StartSource = (onChange: (state: SourceState) => void, hooks?: StartHooks) => Promise<Source>;
